import type { ChatMessage } from './provider.ts';

/**
 * Conversation memory per chat, bounded: at most `maxMessages` per chat (the oldest go first, and
 * a kept history always starts at a user message, never at a dangling tool result) and at most
 * `maxChats` chats (the least recently used goes). It lives with the agent, on its device.
 */
export class ChatMemory {
  readonly #chats = new Map<string, ChatMessage[]>();
  constructor(private readonly maxMessages: number, private readonly maxChats: number) {}

  get(chat: string): ChatMessage[] {
    return [...(this.#chats.get(chat) ?? [])];
  }

  /** Appends one finished exchange (the user message and everything the agent added). */
  commit(chat: string, added: ChatMessage[]): void {
    if (this.maxMessages === 0) return;
    let all = [...(this.#chats.get(chat) ?? []), ...added];
    if (all.length > this.maxMessages) {
      all = all.slice(all.length - this.maxMessages);
      const firstUser = all.findIndex((m) => m.role === 'user');
      all = firstUser < 0 ? [] : all.slice(firstUser);
    }
    this.#chats.delete(chat);
    this.#chats.set(chat, all);
    while (this.#chats.size > this.maxChats) this.#chats.delete(this.#chats.keys().next().value!);
  }

  get size(): number {
    return this.#chats.size;
  }
}
