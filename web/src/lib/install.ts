/** The install prompt: kept when the browser offers it, used when the person clicks "Install app". */
import { useStore } from '../state/store.ts';

interface BeforeInstallPromptEvent extends Event {
  prompt(): Promise<void>;
  userChoice: Promise<{ outcome: 'accepted' | 'dismissed' }>;
}

let deferred: BeforeInstallPromptEvent | null = null;

export function watchInstall(): void {
  window.addEventListener('beforeinstallprompt', (e) => {
    e.preventDefault();
    deferred = e as BeforeInstallPromptEvent;
    useStore.getState().setTab({ canInstall: true });
  });
  window.addEventListener('appinstalled', () => {
    deferred = null;
    useStore.getState().setTab({ canInstall: false, installed: true });
  });
}

export async function promptInstall(): Promise<void> {
  if (!deferred) return;
  const e = deferred;
  deferred = null;
  useStore.getState().setTab({ canInstall: false });
  await e.prompt();
  const choice = await e.userChoice;
  if (choice.outcome === 'dismissed') useStore.getState().notify('info', 'Install dismissed. The browser menu can install it later.');
}
