import { z } from 'zod';
import { describe } from '../protocol/index.ts';
import type { ChatMessage } from './provider.ts';

/** The messages memory keeps: what a turn adds (user, assistant with tool calls, tool results). */
const KeptMessage = z.discriminatedUnion('role', [
  z.object({ role: z.literal('user'), content: z.string() }),
  z.object({
    role: z.literal('assistant'),
    content: z.string().nullable(),
    tool_calls: z
      .array(
        z.object({
          id: z.string(),
          type: z.literal('function'),
          function: z.object({ name: z.string(), arguments: z.string() }),
        }),
      )
      .exactOptional(),
  }),
  z.object({ role: z.literal('tool'), tool_call_id: z.string(), content: z.string() }),
]);
type KeptMessage = z.infer<typeof KeptMessage>;

/** What a store keeps: every chat's messages, least recently used first. */
export const MemorySnapshot = z.object({
  version: z.literal(1),
  chats: z.array(z.tuple([z.string().max(1024), z.array(KeptMessage)])),
});
export type MemorySnapshot = z.infer<typeof MemorySnapshot>;

/** Largest snapshot kept or read (characters of JSON): older chats go first to stay under it. */
export const MEMORY_MAX_CHARS = 4 * 1024 * 1024;

/**
 * Where memory survives a reload or a restart, on the device that runs the agent: IndexedDB in a
 * tab, a 0600 file on a Pi. `load` gives what was saved (unchecked: ChatMemory checks it) or
 * undefined; `save` replaces it.
 */
export interface MemoryStore {
  load(): Promise<unknown>;
  save(snapshot: MemorySnapshot): Promise<void>;
}

/**
 * Conversation memory per chat, bounded: at most `maxMessages` per chat (the oldest go first, and
 * a kept history always starts at a user message, never at a dangling tool result), at most
 * `maxChats` chats (the least recently used goes) and MEMORY_MAX_CHARS in all. It lives with the
 * agent, on its device; with a store it is saved after every finished exchange.
 */
export class ChatMemory {
  readonly #chats = new Map<string, ChatMessage[]>();
  #saving: Promise<void> = Promise.resolve();

  readonly #maxMessages: number;
  readonly #maxChats: number;
  readonly #store: MemoryStore | undefined;
  /** Told when the store could not be read or written (the agent goes on with what it has). */
  readonly #onStoreError: (message: string) => void;

  constructor(maxMessages: number, maxChats: number, store?: MemoryStore, onStoreError: (message: string) => void = () => {}) {
    this.#maxMessages = maxMessages;
    this.#maxChats = maxChats;
    this.#store = store;
    this.#onStoreError = onStoreError;
  }

  /** Reads the store back: a snapshot that does not check out is reported and ignored. */
  async load(): Promise<void> {
    if (!this.#store || this.#maxMessages === 0) return;
    let raw: unknown;
    try {
      raw = await this.#store.load();
    } catch (err) {
      return this.#onStoreError(`could not read the saved conversations: ${(err as Error).message}`);
    }
    if (raw === undefined) return;
    const r = MemorySnapshot.safeParse(raw);
    if (!r.success) return this.#onStoreError(`the saved conversations are not readable (${describe(r.error)}); starting without them`);
    for (const [chat, messages] of r.data.chats) this.#put(chat, messages);
  }

  get(chat: string): ChatMessage[] {
    return [...(this.#chats.get(chat) ?? [])];
  }

  /** Appends one finished exchange (the user message and everything the agent added). */
  commit(chat: string, added: ChatMessage[]): void {
    if (this.#maxMessages === 0) return;
    this.#put(chat, [...(this.#chats.get(chat) ?? []), ...added]);
    const store = this.#store;
    if (!store) return;
    // One write at a time, in order: the last one holds the last exchange.
    this.#saving = this.#saving
      .then(() => store.save(this.#snapshot()))
      .catch((err: Error) => this.#onStoreError(`could not save the conversations: ${err.message}`));
  }

  /** Resolves when every save so far has been written. */
  flush(): Promise<void> {
    return this.#saving;
  }

  get size(): number {
    return this.#chats.size;
  }

  #put(chat: string, messages: ChatMessage[]): void {
    let all = messages;
    if (all.length > this.#maxMessages) {
      all = all.slice(all.length - this.#maxMessages);
      const firstUser = all.findIndex((m) => m.role === 'user');
      all = firstUser < 0 ? [] : all.slice(firstUser);
    }
    this.#chats.delete(chat);
    this.#chats.set(chat, all);
    while (this.#chats.size > this.#maxChats) this.#chats.delete(this.#chats.keys().next().value!);
  }

  /** The chats to save, dropping the least recently used ones until they fit MEMORY_MAX_CHARS. */
  #snapshot(): MemorySnapshot {
    const chats = [...this.#chats].map(([chat, messages]): [string, KeptMessage[]] => [chat, KeptMessage.array().parse(messages)]);
    let chars = JSON.stringify(chats).length;
    while (chars > MEMORY_MAX_CHARS && chats.length > 0) chars -= JSON.stringify(chats.shift()).length + 1;
    return { version: 1, chats };
  }
}
