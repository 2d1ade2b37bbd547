import { useState } from 'react';
import { useStore } from './state/store.ts';
import { Header } from './components/Header.tsx';
import { StatusBar } from './components/StatusBar.tsx';
import { Login } from './components/Login.tsx';
import { Topology } from './components/Topology.tsx';
import { Agents } from './components/Agents.tsx';
import { Chat } from './components/Chat.tsx';
import { Tasks } from './components/Tasks.tsx';
import { LocalAgents } from './components/LocalAgents.tsx';
import { AdminPanels } from './components/AdminPanels.tsx';
import { PairPage, isPairPath } from './pairing/PairPage.tsx';
import { Revoked } from './components/Revoked.tsx';

export function App() {
  const phase = useStore((s) => s.session.phase);
  const isAdmin = useStore((s) => s.session.role === 'admin');
  const [chatTarget, setChatTarget] = useState<{ agent: string; peerId: string } | null>(null);
  const openChat = (agent: string, peerId: string) => {
    setChatTarget({ agent, peerId });
    document.getElementById('chat')?.scrollIntoView({ behavior: 'smooth', block: 'start' });
    setTimeout(() => document.getElementById('chat-input')?.focus(), 50);
  };
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <Header />
      <StatusBar />
      {phase === 'starting' && (
        <main id="main" className="login">
          <p className="muted">Starting…</p>
        </main>
      )}
      {(phase === 'signed_out' || phase === 'signing_in') && (isPairPath() ? <PairPage /> : <Login />)}
      {phase === 'revoked' && <Revoked />}
      {phase === 'signed_in' && (
        <main id="main" className="dash">
          <nav className="jump" aria-label="Sections">
            <a href="#topology">Topology</a>
            <a href="#agents">Agents</a>
            <a href="#chat">Chat</a>
            <a href="#tasks">Tasks</a>
            <a href="#local">This browser</a>
            {isAdmin && (
              <>
                <a href="#devices">Devices</a>
                <a href="#keys">Keys</a>
                <a href="#audit">Audit</a>
              </>
            )}
          </nav>
          <div className="col col-a">
            <Topology />
            <Chat target={chatTarget} onTarget={setChatTarget} />
            <Tasks />
          </div>
          <div className="col col-b">
            <Agents onChat={openChat} />
            <LocalAgents />
            <AdminPanels />
          </div>
        </main>
      )}
    </>
  );
}
