/**
 * `npm run smoke:llm`: the tests' conversation against a real provider (not part of `npm test`).
 * OPENAI_API_KEY → OpenAI (OPENAI_MODEL, default gpt-4o-mini; OPENAI_BASE_URL for another
 * compatible server); else OLLAMA_HOST (e.g. http://localhost:11434) → Ollama (OLLAMA_MODEL,
 * default llama3.2). It starts a registry, two sidecars, an `upper` skill agent on one and the LLM
 * agent on the other, then asks a question and one that needs the tool, printing what streams.
 */
import { startRegistry } from '../server/testing.ts';
import { startSidecarProcess } from '../sidecar-node/test-support.ts';
import { upperSkill } from '../mesh/test-support/upper-skill.ts';
import { socketTransport } from '../sidecar-node/agent-socket.ts';
import { startLlmAgent } from '../mesh/llm/agent.ts';
import { parseDefinition } from '../mesh/llm/definition.ts';
import type { ToolEvent } from '../mesh/protocol/index.ts';

const openaiKey = process.env.OPENAI_API_KEY;
const ollama = process.env.OLLAMA_HOST;
if (!openaiKey && !ollama) {
  process.stderr.write('smoke:llm needs a real provider: set OPENAI_API_KEY (and OPENAI_MODEL, OPENAI_BASE_URL) or OLLAMA_HOST (and OLLAMA_MODEL).\n');
  process.exit(2);
}
const provider = openaiKey
  ? {
      kind: process.env.OPENAI_BASE_URL ? ('compatible' as const) : ('openai' as const),
      model: process.env.OPENAI_MODEL ?? 'gpt-4o-mini',
      ...(process.env.OPENAI_BASE_URL && { base_url: process.env.OPENAI_BASE_URL }),
    }
  : {
      kind: 'ollama' as const,
      model: process.env.OLLAMA_MODEL ?? 'llama3.2',
      base_url: `${ollama!.replace(/\/+$/, '').replace(/^(?!https?:\/\/)/, 'http://')}/v1`,
    };

const reg = await startRegistry();
const [home, tools] = await Promise.all([startSidecarProcess(reg, 'smoke-llm'), startSidecarProcess(reg, 'smoke-tools')]);
let code = 1;
try {
  const upper = await tools.agent({
    name: 'upper',
    registerTimeoutMs: 30_000,
    skills: { upper: upperSkill() },
  });
  const def = parseDefinition({
    name: 'assistant',
    provider,
    skills: ['upper'],
    system_prompt: 'You are a terse assistant in a mesh of agents. Use tools when asked to.',
  });
  const agent = await startLlmAgent(await socketTransport(home.socket), def, { apiKey: openaiKey, registerTimeoutMs: 30_000 });
  const asker = await home.agent({ name: 'asker', registerTimeoutMs: 30_000 });
  // The LLM agent takes its tools from the registry: wait until the skill agent is listed there.
  for (
    let i = 0;
    i < 100 &&
    !(await asker.task('list_skills', {}).then(
      (l) => (l as unknown[]).length > 0,
      () => false,
    ));
    i++
  )
    await new Promise((r) => setTimeout(r, 300));
  process.stdout.write(`provider: ${provider.kind} ${provider.model}\n`);
  let answer = '';
  for (const q of ['Say hello in five words.', 'Use the upper tool to upper-case "hello mesh", then tell me its result.']) {
    process.stdout.write(`\n> ${q}\n`);
    const t0 = Date.now();
    const r = await asker.request(
      'local',
      { type: 'agent_prompt', target_agent: 'assistant', payload: { text: q, session_id: 'smoke' } },
      {
        timeoutMs: 180_000,
        onChunk: (m) => {
          const p = m.payload as { text: string; tool?: ToolEvent };
          if (p.tool)
            process.stdout.write(
              `\n  [tool ${p.tool.skill} ${p.tool.state}${p.tool.agent_id ? ` on ${p.tool.agent_id} (${p.tool.peer_id}, ${p.tool.tier}, ${p.tool.ms} ms)` : ''}${p.tool.result ? ` → ${p.tool.result}` : ''}${p.tool.error ? ` ✕ ${p.tool.error}` : ''}]\n`,
            );
          else process.stdout.write(p.text);
        },
      },
    );
    const p = r.payload as { text: string; error?: string };
    if (p.error) throw new Error(p.error);
    answer = p.text;
    process.stdout.write(`\n(${Date.now() - t0} ms)\n`);
  }
  code = /HELLO MESH/.test(answer) ? 0 : 1;
  process.stdout.write(code === 0 ? "\nsmoke:llm ok: the answer uses the tool's result\n" : "\nsmoke:llm: the answer does not contain the tool's result\n");
  agent.close();
  asker.close();
  upper.close();
} catch (err) {
  process.stderr.write(`smoke:llm failed: ${(err as Error).message}\n`);
} finally {
  await Promise.all([home.stop(), tools.stop()]);
  await reg.stop();
}
process.exit(code);
