import type { StateCreator } from 'zustand';
import type { Store } from './store.ts';
import type { ChatMessage, ToolView } from './views.ts';
import { runtime } from './actions.ts';

/** Chats are keyed by `agent@peer` so two agents with one name on two peers stay apart. */
export const chatKey = (agent: string, peerId: string) => `${agent}@${peerId}`;
const MAX_MESSAGES = 200;
/** A peer may send up to 64 MiB; the conversation shows at most this much of one message. */
const MAX_CHARS = 100_000;
const cap = (t: string) => (t.length > MAX_CHARS ? t.slice(0, MAX_CHARS) + ' … (cut: the message is longer than 100 000 characters)' : t);

export interface ChatSlice {
  chats: Record<string, ChatMessage[]>;
  sendPrompt: (agent: string, peerId: string, text: string) => Promise<void>;
  /** Stops the answer streaming in that chat. */
  stopPrompt: (agent: string, peerId: string) => Promise<void>;
  /** Adds or updates the line of one tool call. */
  chatTool: (key: string, id: string, tool: ToolView) => void;
  /** Adds a message, or appends text to the message with the same id (streamed chunks). */
  chatAppend: (key: string, id: string, from: ChatMessage['from'], text: string, done: boolean, replace?: boolean) => void;
}

export const createChatSlice: StateCreator<Store, [], [], ChatSlice> = (set, get) => ({
  chats: {},
  sendPrompt: async (agent, peerId, text) => {
    try {
      await runtime().do({ type: 'prompt', agent, peerId, text });
    } catch (e) {
      get().notify('error', `Message to ${agent} not sent: ${(e as Error).message}`);
    }
  },
  stopPrompt: async (agent, peerId) => {
    try {
      await runtime().do({ type: 'stop_prompt', agent, peerId });
    } catch (e) {
      get().notify('error', `Could not stop ${agent}: ${(e as Error).message}`);
    }
  },
  chatTool: (key, id, tool) => {
    const list = get().chats[key] ?? [];
    const i = list.findIndex((m) => m.id === id);
    const m: ChatMessage = { id, from: 'tool', text: '', done: tool.state !== 'running', at: i < 0 ? Date.now() : list[i]!.at, tool };
    const next = i < 0 ? [...list, m].slice(-MAX_MESSAGES) : list.map((x, j) => (j === i ? m : x));
    set({ chats: { ...get().chats, [key]: next } });
  },
  chatAppend: (key, id, from, text, done, replace = false) => {
    const list = get().chats[key] ?? [];
    const i = list.findIndex((m) => m.id === id);
    let next: ChatMessage[];
    if (i < 0) next = [...list, { id, from, text: cap(text), done, at: Date.now() }].slice(-MAX_MESSAGES);
    else {
      const m = list[i]!;
      next = list.slice();
      next[i] = { ...m, text: cap(replace ? text : m.text + text), done: m.done || done };
    }
    set({ chats: { ...get().chats, [key]: next } });
  },
});
