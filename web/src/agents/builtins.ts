/**
 * The agents that ship with the app. Each runs in its own worker; `chat` streams its answer in
 * pieces through `emit` (sent as agent_stream_chunk).
 */
export interface BuiltinSkill {
  name: string;
  description: string;
  args_schema?: Record<string, unknown>;
  run: (args: unknown) => unknown;
}
export interface BuiltinAgent {
  description: string;
  skills: BuiltinSkill[];
  chat: (text: string, emit: (chunk: string) => void) => Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const obj = (a: unknown): Record<string, unknown> => (a && typeof a === 'object' ? (a as Record<string, unknown>) : {});
const textOf = (a: unknown) => (typeof a === 'string' ? a : String(obj(a).text ?? ''));

/** Streams `text` word by word, the way a language model would. */
async function stream(text: string, emit: (c: string) => void) {
  const parts = text.match(/\S+\s*/g) ?? [text];
  for (const p of parts) {
    emit(p);
    await sleep(25);
  }
}

function numbers(a: unknown): number[] {
  const o = obj(a);
  const list = Array.isArray(a) ? a : Array.isArray(o.numbers) ? o.numbers : [o.a, o.b].filter((x) => x !== undefined);
  return list.map(Number).filter((n) => Number.isFinite(n));
}

const TEXT = { type: 'object', properties: { text: { type: 'string', description: 'the text' } }, required: ['text'] };
const NUMBERS = {
  type: 'object',
  properties: { numbers: { type: 'array', items: { type: 'number' }, description: 'the numbers' }, a: { type: 'number' }, b: { type: 'number' } },
};

export const BUILTIN_AGENTS: Record<string, BuiltinAgent> = {
  echo: {
    description: 'Echoes what it gets; chat replies are streamed word by word.',
    skills: [
      { name: 'echo', description: 'Returns its arguments unchanged', args_schema: { type: 'object' }, run: (args) => args },
      { name: 'upper', description: 'Upper-cases a text', args_schema: TEXT, run: (args) => textOf(args).toUpperCase() },
    ],
    chat: (text, emit) => stream(`You said: ${text}. I am an echo agent running in a Web Worker of this browser tab.`, emit),
  },
  math: {
    description: 'Adds and multiplies numbers.',
    skills: [
      { name: 'sum', description: 'Adds numbers', args_schema: NUMBERS, run: (args) => numbers(args).reduce((s, n) => s + n, 0) },
      { name: 'product', description: 'Multiplies numbers', args_schema: NUMBERS, run: (args) => numbers(args).reduce((s, n) => s * n, 1) },
    ],
    chat: async (text, emit) => {
      const ns = (text.match(/-?\d+(\.\d+)?/g) ?? []).map(Number);
      const answer = ns.length
        ? `The numbers ${ns.join(', ')} add up to ${ns.reduce((s, n) => s + n, 0)} and multiply to ${ns.reduce((s, n) => s * n, 1)}.`
        : 'Send me some numbers, for example "2 3 4", and I will add and multiply them.';
      await stream(answer, emit);
    },
  },
};
