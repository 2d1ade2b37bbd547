/**
 * `chatixia-sidecar agent init [file]` writes a commented agent definition to start from;
 * `chatixia-sidecar agent run <file>` runs it next to the local sidecar (its IPC socket) until
 * SIGINT/SIGTERM — one file and one command for an LLM agent on a Pi (docs/llm-agents.md).
 * The key comes from the environment or a file only its owner can read; it is never logged.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { parseDefinition, PROVIDER_DEFAULTS, type LlmAgentDefinition } from '../mesh/llm/definition.ts';
import { startLlmAgent } from '../mesh/llm/agent.ts';
import { socketTransport } from './agent-socket.ts';
import { fileMemoryStore, memoryFileFor } from './llm-memory-file.ts';

const USAGE = `usage: chatixia-sidecar agent init [file]          write a definition to edit (default agent.yaml)
       chatixia-sidecar agent run <file> [--ipc-socket PATH] [--memory-file PATH]
                                                   run it next to the local sidecar; conversations
                                                   are kept in <file without .yaml>.memory.json (0600)`;

export const TEMPLATE = `# An LLM agent for chatixia mesh (docs/llm-agents.md). Run it next to a sidecar:
#   chatixia-sidecar agent run agent.yaml
name: assistant
description: Answers questions and uses the mesh's skills as tools
provider:
  kind: openai              # openai | azure | ollama | compatible (any OpenAI-compatible server) | gateway
  model: gpt-4o-mini
  # base_url: http://localhost:11434/v1     # ollama's default; required for azure and compatible
  # The key is never written here. It comes from the environment (default OPENAI_API_KEY for
  # openai, AZURE_OPENAI_API_KEY for azure) or from a file only its owner can read (chmod 600):
  # api_key_env: OPENAI_API_KEY
  # api_key_file: /etc/chatixia/openai.key
system_prompt: |
  You are a helpful agent in a mesh of agents. Use the tools when they help, and say which one you used.
# temperature: 0.2
# max_tokens: 1024
# skills: [upper, "weather*"]   # the mesh skills it may use as tools; leave out for all the policy allows
max_tool_rounds: 6
timeout_s: 60                   # no data from the provider for this long ends the answer with an error
memory:
  max_messages: 40              # per chat, kept on this machine only, in agent.memory.json (0600); 0: none
  max_chats: 100
# skill: ask_assistant          # also answer task_request {text} as this skill
# serve_as_gateway: llm_gateway # let agents on other devices (a browser tab) use this provider through the mesh
`;

/** Reads a definition file (YAML or JSON) and checks it. */
export function readDefinition(path: string): LlmAgentDefinition {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  try {
    return parseDefinition(raw);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}

/** The key, from the file named in the definition (owner-only) or the environment. */
export function readKey(def: LlmAgentDefinition, env: Record<string, string | undefined>): string | undefined {
  const p = def.provider;
  if (p.api_key_file) {
    const st = statSync(p.api_key_file);
    if ((st.mode & 0o077) !== 0) {
      throw new Error(`${p.api_key_file} can be read by others (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${p.api_key_file}`);
    }
    return readFileSync(p.api_key_file, 'utf8').trim() || undefined;
  }
  const name = p.api_key_env ?? PROVIDER_DEFAULTS[p.kind].keyEnv;
  const key = name ? env[name] : undefined;
  if (!key && PROVIDER_DEFAULTS[p.kind].needsKey) {
    throw new Error(`no API key: set ${name} in the environment (or api_key_file in the definition)`);
  }
  return key || undefined;
}

export async function agentMain(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { 'ipc-socket': { type: 'string' }, 'memory-file': { type: 'string' }, help: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  const [cmd, file] = positionals;
  if (values.help || !cmd) {
    process.stdout.write(USAGE + '\n');
    return values.help ? 0 : 2;
  }
  if (cmd === 'init') {
    const path = file ?? 'agent.yaml';
    if (existsSync(path)) {
      process.stderr.write(`${path} exists; not overwriting it\n`);
      return 1;
    }
    writeFileSync(path, TEMPLATE, { mode: 0o644 });
    process.stdout.write(`wrote ${path}; edit it, set the key (e.g. export OPENAI_API_KEY=…), then: chatixia-sidecar agent run ${path}\n`);
    return 0;
  }
  if (cmd !== 'run' || !file) {
    process.stderr.write(USAGE + '\n');
    return 2;
  }
  let def: LlmAgentDefinition;
  let key: string | undefined;
  try {
    def = readDefinition(file);
    key = readKey(def, process.env);
  } catch (err) {
    process.stderr.write(`chatixia-sidecar agent: ${(err as Error).message}\n`);
    return 2;
  }
  const socket = values['ipc-socket'] ?? process.env.IPC_SOCKET ?? '/tmp/chatixia-sidecar.sock';
  const memoryStore = fileMemoryStore(values['memory-file'] ?? memoryFileFor(file));
  let agent;
  try {
    agent = await startLlmAgent(await socketTransport(socket), def, {
      apiKey: key,
      registerTimeoutMs: 30_000,
      memoryStore,
      warn: (message) => process.stderr.write(`[agent ${def.name}] ${message}\n`),
    });
  } catch (err) {
    process.stderr.write(`chatixia-sidecar agent: cannot start ${def.name} on ${socket}: ${(err as Error).message} (is the sidecar running?)\n`);
    return 1;
  }
  process.stderr.write(
    `[agent ${def.name}] ready on peer ${agent.peerId}: ${def.provider.kind} ${def.provider.model}, tools: ${def.skills ? def.skills.join(', ') || 'none' : 'the skills the policy allows'}\n`,
  );
  return new Promise<number>((resolve) => {
    const stop = () => {
      agent.close();
      void memoryStore.written().then(() => resolve(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    agent.on('close', () => {
      process.stderr.write(`[agent ${def.name}] the sidecar closed the connection\n`);
      resolve(1);
    });
  });
}
