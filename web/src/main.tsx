import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { startTabs } from './peer/tabs.ts';
import { watchInstall } from './lib/install.ts';
import { startLeader } from './peer/leader.ts';
import './styles.css';

watchInstall();
startTabs({ becomeLeader: startLeader });
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
