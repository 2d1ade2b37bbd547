/** The dashboard used the way a person does: the chat, the task form, the "+ LLM agent" form. */
import type { Page } from 'playwright-core';

/** Types `text` into the chat box and sends it. */
export async function say(page: Page, text: string): Promise<void> {
  await page.locator('#chat-input').fill(text);
  await page.locator('#chat-input').press('Enter');
}

/**
 * Waits until the chat's current turn is over (its Stop button gone). The answer's text can show
 * before the turn ends on a loaded machine, and a new prompt in the same chat stops a running turn.
 */
export async function untilTurnOver(page: Page): Promise<void> {
  await page.getByTestId('chat-stop').waitFor({ state: 'hidden', timeout: 30_000 });
}

/** Everything the chat log shows, as text. */
export async function chatText(page: Page): Promise<string> {
  return (await page.getByTestId('chat-log').textContent()) ?? '';
}

/** Fills the task form and presses Dispatch (`args` as JSON). */
export async function dispatch(page: Page, skill: string, args: unknown): Promise<void> {
  await page.getByTestId('task-skill').fill(skill);
  await page.getByTestId('task-args').fill(JSON.stringify(args));
  await page.getByRole('button', { name: 'Dispatch' }).click();
}

/**
 * Starts recording every distinct text the newest reply bubble shows (a streamed answer grows in
 * several steps); the function it returns reads them. Call it before the message is sent.
 */
export async function recordReplySteps(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { __seen: string[] }).__seen = seen;
    new MutationObserver(() => {
      const last = [...document.querySelectorAll('[data-testid=msg-agent]')].pop()?.textContent ?? '';
      if (last && seen[seen.length - 1] !== last) seen.push(last);
    }).observe(document.querySelector('[data-testid=chat-log]')!, { subtree: true, childList: true, characterData: true });
  });
  return () => page.evaluate(() => (window as unknown as { __seen: string[] }).__seen);
}

/** Adds an LLM agent to this tab through its form (an OpenAI-compatible provider) and waits until it runs. */
export async function addLlmAgent(page: Page, o: { name: string; baseUrl: string; model: string; key: string; skills: string }): Promise<void> {
  await page.getByRole('button', { name: '+ LLM agent' }).click();
  const form = page.getByTestId('llm-form');
  await form.getByTestId('llm-name').fill(o.name);
  await form.getByTestId('llm-kind').selectOption('compatible');
  await form.getByTestId('llm-base-url').fill(o.baseUrl);
  await form.getByTestId('llm-model').fill(o.model);
  await form.getByTestId('llm-key').fill(o.key);
  await form.getByTestId('llm-skills').fill(o.skills);
  await form.getByRole('button', { name: 'Add LLM agent' }).click();
  await page.locator(`[data-testid=local-agent][data-agent="${o.name}"][data-status=running]`).waitFor({ timeout: 60_000 });
}
