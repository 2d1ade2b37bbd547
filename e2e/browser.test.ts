import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium } from './browser.ts';

test('Debian Chromium starts and exposes host ICE candidates as real addresses in tests', async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const candidates: string[] = await page.evaluate(async () => {
      const pc = new RTCPeerConnection();
      pc.createDataChannel('x');
      const found: string[] = [];
      const done = new Promise<void>((resolve) => {
        pc.onicecandidate = (e) => (e.candidate ? found.push(e.candidate.candidate) : resolve());
      });
      await pc.setLocalDescription(await pc.createOffer());
      await Promise.race([done, new Promise((r) => setTimeout(r, 3000))]);
      pc.close();
      return found;
    });
    assert.ok(candidates.length > 0, 'no ICE candidates gathered');
    assert.ok(
      candidates.every((c) => !c.includes('.local')),
      `mDNS candidate leaked: ${candidates.join(' | ')}`,
    );
  } finally {
    await browser.close();
  }
});
