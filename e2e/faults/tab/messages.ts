/** Control messages between the fault-test page and its worker agent (not IPC lines). */
export type PageToWorker =
  | { ctl: 'init'; name: string; probeType: string }
  | { ctl: 'send'; to: string; id: string; type: string; targetAgent?: string | undefined; body?: string; fill?: { char: string; bytes: number } }
  | { ctl: 'stall'; ms: number };

export type WorkerToPage =
  | { ev: 'ready' }
  | { ev: 'stalled' }
  | { ev: 'ack'; id: string }
  | { ev: 'message'; from: string; type: string; request_id?: string | undefined }
  | { ev: 'error'; code: string; message: string; request_id?: string | undefined };
