/**
 * A complete sidecar agent in one file. Run it next to a sidecar:
 *   IPC_SOCKET=/tmp/b.sock node --import tsx sidecar-node/examples/upper-agent.ts
 * Other peers can now call the skill `upper` (directly, or with the sidecar's `delegate`).
 */
import { runAgent } from '../agent-socket.ts';

const agent = await runAgent({
  name: 'upper',
  skills: {
    upper: {
      description: 'Upper-cases {text}',
      handler: (args: { text?: unknown }) => String(args?.text ?? '').toUpperCase(),
    },
    // A streaming skill: pieces arrive as task_stream_chunk messages, then the final result.
    spell: async (args: { text?: unknown }, call) => {
      const text = String(args?.text ?? '');
      for (const ch of text) call.stream(ch);
      return text.length;
    },
  },
  onPrompt: (text) => `You said: ${text}`,
});
agent.on('message', (msg, from) => console.error(`[upper] ${msg.type} from ${from}`));
