import { chromium, type Browser, type LaunchOptions } from 'playwright-core';

/** Debian's Chromium; Playwright's own browser download does not work here. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Playwright passes its own --disable-features list and Chromium honours only the last one,
// so ours must replace it, not follow it. This is Playwright 1.65's list.
const PLAYWRIGHT_DISABLED = [
  'AvoidUnnecessaryBeforeUnloadCheckSync',
  'DestroyProfileOnBrowserClose',
  'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable',
  'LensOverlay',
  'MediaRouter',
  'PaintHolding',
  'ThirdPartyStoragePartitioning',
  'AvoidCorsURLLoaderRestartOnRedirect',
  'TcpPortRandomizationWin',
  'OptimizationHints',
  'NetworkTimeServiceQuerying',
  'AimEnabled',
  'PreconnectToSearch',
  'msForceBrowserSignIn',
  'msEdgeUpdateLaunchServicesPreferredVersion',
];

export interface ChromiumOptions extends LaunchOptions {
  /**
   * Keep Chromium's mDNS `.local` host candidates (what real users get). Tests turn it off by
   * default so Node peers see real loopback addresses; with it on, links still form through
   * peer-reflexive candidates, only slower.
   */
  mdnsHostCandidates?: boolean;
}

/** Launches Debian's Chromium headless with the flags this machine needs (root, closed network). */
export function launchChromium(opts: ChromiumOptions = {}): Promise<Browser> {
  const { mdnsHostCandidates = false, args = [], ...rest } = opts;
  const disabled = mdnsHostCandidates ? PLAYWRIGHT_DISABLED : [...PLAYWRIGHT_DISABLED, 'WebRtcHideLocalIpsWithMdns'];
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    ignoreDefaultArgs: ['--disable-features=' + PLAYWRIGHT_DISABLED.join(',')],
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-features=' + disabled.join(','),
      ...args,
    ],
    ...rest,
  });
}
