/** Size limits shared by every side. A frame above its limit is refused before it is parsed. */
export const LIMITS = {
  /** One signaling WebSocket frame (an SDP with many candidates stays far below this). */
  signalFrameBytes: 64 * 1024,
  /** One IPC line between an agent and its sidecar or tab (a whole MeshMessage fits). */
  ipcLineBytes: 64 * 1024 * 1024 + 64 * 1024,
  /** One reassembled MeshMessage; the mesh core chunks anything above one DataChannel frame. */
  meshMessageBytes: 64 * 1024 * 1024,
  /** One DataChannel frame: Chromium and libdatachannel both refuse more than 256 KiB. */
  dataChannelFrameBytes: 256 * 1024,
  /** One REST request body. */
  restBodyBytes: 1024 * 1024,
  /** Identifiers: peer ids, agent names, skill names, request ids. */
  idChars: 128,
} as const;
