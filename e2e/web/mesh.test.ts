/**
 * Two browser contexts and one real sidecar process join one mesh through a real registry:
 * all three see each other (links drawn in the topology with their path type), a browser worker
 * agent answers a sidecar agent and the other way round, and chat from a browser to a sidecar
 * agent streams in. Screenshots of the dashboard at phone and desktop sizes are saved.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startWebStack, openSignedIn, signIn, screenshot, until, topologyOf, PHONE, DESKTOP, type WebStack } from './helpers.ts';
import { chatText, dispatch, recordReplySteps, say } from './dashboard.ts';
import { launchChromium } from '../browser.ts';
import { startSidecarProcess, type SidecarProcess } from '../../sidecar-node/test-support.ts';
import type { AgentClient } from '../../mesh/agent/client.ts';
import { RegistryClient } from '../../mesh/registry-client.ts';

let stack: WebStack;
let sidecar: SidecarProcess;
let piAgent: AgentClient;
const SIDECAR = 'pi-kitchen';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  stack = await startWebStack();
  sidecar = await startSidecarProcess(stack.registry, SIDECAR);
  piAgent = await sidecar.agent({
    name: 'weather',
    skills: {
      reverse: { description: 'Reverses args.text', handler: (args: { text?: string }) => [...String(args?.text ?? '')].reverse().join('') },
    },
    // A streaming answer, the way a model would write it.
    onPrompt: (text) =>
      (async function* () {
        for (const w of `Sunny in the kitchen. You asked: ${text}`.split(' ')) {
          await sleep(40);
          yield w + ' ';
        }
      })(),
  });
});
after(async () => {
  piAgent?.close();
  await sidecar?.stop();
  await stack?.close();
});

async function sees(page: Page, self: string, others: string[]) {
  await until(
    `${self} to draw open links to ${others.join(', ')}`,
    async () => {
      const t = await topologyOf(page);
      return others.every((o) => t.nodes.includes(o) && t.edges.some((e) => e.path !== 'http' && ((e.a === self && e.b === o) || (e.a === o && e.b === self))));
    },
    45_000,
    250,
  );
}

test('two browsers and a sidecar form one mesh; tasks and chat cross it both ways', async () => {
  const a = await openSignedIn(stack, stack.registry.adminKey, DESKTOP);
  const b = await openSignedIn(stack, stack.registry.adminKey, PHONE);
  assert.notEqual(a.peerId, b.peerId, 'two browsers must be two peers');

  // All three see each other: each browser draws links to the other two; the sidecar has links to both.
  await sees(a.page, a.peerId, [b.peerId, SIDECAR]);
  await sees(b.page, b.peerId, [a.peerId, SIDECAR]);
  await until(
    'the sidecar to list both browsers',
    async () => {
      const peers = await piAgent.listPeers();
      return peers.includes(a.peerId) && peers.includes(b.peerId);
    },
    30_000,
    250,
  );
  const edges = (await topologyOf(a.page)).edges.filter((e) => e.a === a.peerId || e.b === a.peerId);
  assert.ok(
    edges.every((e) => ['host', 'srflx', 'prflx', 'relay'].includes(e.path)),
    `path types: ${JSON.stringify(edges)}`,
  );

  // A sidecar agent calls a skill of a browser worker agent (over the DataChannel).
  await a.page.locator(`[data-testid=agent-row][data-agent="echo@${a.peerId}"]`).waitFor({ timeout: 30_000 });
  assert.equal(await piAgent.task('upper', { text: 'from the pi' }, { peer: a.peerId, agent: 'echo', timeoutMs: 15_000 }), 'FROM THE PI');
  // …and through the sidecar's delegate skill, which reports the tier.
  const delegated = (await piAgent.task('delegate', { skill: 'upper', args: { text: 'tiered' }, target_peer: b.peerId }, { timeoutMs: 20_000 })) as {
    tier: string;
    result: unknown;
  };
  assert.deepEqual([delegated.tier, delegated.result], ['direct', 'TIERED']);

  // A browser dispatches to the sidecar agent's skill from the dashboard.
  await a.page.locator(`[data-testid=agent-row][data-agent="weather@${SIDECAR}"]`).waitFor({ timeout: 30_000 });
  await dispatch(a.page, 'reverse', { text: 'mesh' });
  const row = a.page.getByTestId('dispatch').first();
  await until('the dispatch to complete', async () => (await row.getAttribute('data-state')) === 'completed', 30_000);
  assert.equal(await row.getAttribute('data-tier'), 'direct');
  assert.equal((await row.getByTestId('dispatch-result').textContent())?.trim(), 'hsem');

  // Chat from the phone-sized browser to the sidecar agent streams in.
  await b.page.getByTestId('chat-target').selectOption({ label: `weather@${SIDECAR} on ${SIDECAR}` });
  const replySteps = await recordReplySteps(b.page);
  await say(b.page, 'will it <b>rain</b>?');
  await until('the streamed answer', async () => /Sunny in the kitchen\. You asked: will it <b>rain<\/b>\?/.test(await chatText(b.page)), 20_000);
  assert.equal(await b.page.locator('[data-testid=chat-log] b').count(), 0, 'peer-provided text must be shown as text, never as HTML');
  const steps = await replySteps();
  assert.ok(steps.length >= 4, `the answer arrived in ${steps.length} step(s), expected a stream`);

  // Screenshots for people: desktop dashboard (browser A, after a chat of its own) and phone (browser B).
  await a.page.getByTestId('chat-target').selectOption({ label: `weather@${SIDECAR} on ${SIDECAR}` });
  await say(a.page, 'how is the kitchen?');
  await until('the answer in browser A', async () => /You asked: how is the kitchen\?/.test(await chatText(a.page)), 20_000);
  await a.page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(a.page, 'dashboard-desktop');
  await screenshot(b.page, 'chat-phone');
  await b.page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(b.page, 'dashboard-phone', true);
  await screenshot(a.page, 'dashboard-desktop-full', true);
  // Nothing overflows sideways on a phone, down to 360 px wide.
  for (const width of [390, 360]) {
    await b.page.setViewportSize({ width, height: 780 });
    await b.page.waitForTimeout(100);
    const overflow = await b.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the dashboard is ${overflow}px wider than a ${width}px screen`);
  }
  assert.deepEqual([...a.errors, ...b.errors], []);
  await a.context.close();
  await b.context.close();
});

test('with no DataChannel to the agent, the task goes through the registry queue and says so', async () => {
  // An agent that only speaks HTTP to the registry (as the Rust original's agents can): no peer link exists.
  const key = await stack.registry.issueApiKey('legacy-box');
  const http = new RegistryClient({ baseUrl: stack.registry.url, apiKey: key });
  await http.registerAgent({
    agent_id: 'thermo',
    peer_id: 'legacy-box',
    capabilities: { skills: ['temperature'], mcp_servers: [], goals_count: 0, mode: 'http' },
  });
  let stop = false;
  const worker = (async () => {
    while (!stop) {
      const hb = await http.heartbeat({ agent_id: 'thermo', peer_id: 'legacy-box', skill_names: ['temperature'] }).catch(() => null);
      for (const t of hb?.pending_tasks ?? []) await http.updateTask(t.id, { state: 'completed', result: { celsius: 11 } });
      await sleep(200);
    }
  })();
  try {
    const a = await openSignedIn(stack, stack.registry.adminKey, DESKTOP);
    await a.page.locator('[data-testid=agent-row][data-agent="thermo"]').waitFor({ timeout: 30_000 });
    await dispatch(a.page, 'temperature', {});
    const row = a.page.getByTestId('dispatch').first();
    await until('the queued task to complete', async () => (await row.getAttribute('data-state')) === 'completed', 45_000);
    assert.equal(await row.getAttribute('data-tier'), 'task_queue');
    assert.deepEqual(JSON.parse((await row.getByTestId('dispatch-result').textContent()) ?? 'null'), { celsius: 11 });
    // the queue view shows the task, completed, pushed by the registry's event stream
    await a.page.locator('[data-testid=queue-task]', { hasText: 'temperature' }).locator('.state-completed').waitFor({ timeout: 10_000 });
    // the topology draws the HTTP-only agent's peer with an "HTTP fallback" edge
    await until(
      'an HTTP fallback edge to legacy-box',
      async () => (await topologyOf(a.page)).edges.some((e) => e.path === 'http' && (e.a === 'legacy-box' || e.b === 'legacy-box')),
      10_000,
    );
    await a.page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(a.page, 'tasks-desktop', true);
    await a.context.close();
  } finally {
    stop = true;
    await worker;
  }
});

test('a browser that hides its LAN address behind mDNS (as real browsers do) still links to the sidecar', async () => {
  const browser = await launchChromium({ mdnsHostCandidates: true });
  try {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await page.goto(stack.registry.url);
    await signIn(page, stack.registry.adminKey);
    const self = (await page.getByTestId('self-peer-id').textContent())!.trim();
    await sees(page, self, [SIDECAR]);
    const edge = (await topologyOf(page)).edges.find((e) => e.a === SIDECAR || e.b === SIDECAR)!;
    console.log(`# mDNS browser ↔ sidecar path: ${edge.path}`);
    assert.ok(['host', 'srflx', 'prflx', 'relay'].includes(edge.path));
    // and the link carries a task
    assert.equal(await piAgent.task('upper', { text: 'mdns' }, { peer: self, agent: 'echo', timeoutMs: 15_000 }), 'MDNS');
  } finally {
    await browser.close();
  }
});
