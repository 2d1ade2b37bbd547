import { useStore } from '../state/store.ts';
import { promptInstall } from '../lib/install.ts';

/** Shown only when the browser fired `beforeinstallprompt`. */
export function InstallButton() {
  const canInstall = useStore((s) => s.tab.canInstall);
  if (!canInstall) return null;
  return (
    <button type="button" className="primary" onClick={() => void promptInstall()}>
      Install app
    </button>
  );
}
