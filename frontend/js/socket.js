// One WebSocket to the chat API, kept open: reconnects with backoff, and notices when the
// server refuses to resume a stored session (then it connects fresh, as a new session).

import { socketUrl } from './config.js';

const MAX_DELAY_MS = 15000;

export class ChatSocket {
  /**
   * @param {object} options
   * @param {string} options.baseUrl           ws(s)://host/stage
   * @param {() => string|null} options.sessionId  the session to resume, if any
   * @param {(info: {fresh: boolean}) => void} options.onOpen
   * @param {(frame: object) => void} options.onFrame
   * @param {(state: 'connecting'|'open'|'closed') => void} options.onState
   * @param {(refusedId: string) => void} options.onResumeRefused  called before onOpen of the fresh socket
   */
  constructor(options) {
    this.options = options;
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = true;
    this.state = 'closed';
    window.addEventListener('online', () => this.reconnectSoon());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.reconnectSoon();
    });
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Connect (resuming the stored session if there is one). */
  start() {
    this.stopped = false;
    this.connect({ resume: true });
  }

  /** Drop the current socket on purpose and connect again as a brand-new session. */
  restartFresh() {
    this.detach();
    this.stopped = false;
    this.attempt = 0;
    this.connect({ resume: false });
  }

  /** Drop the current socket and connect to the session sessionId() now names. */
  restart() {
    this.detach();
    this.stopped = false;
    this.attempt = 0;
    this.connect({ resume: true });
  }

  /** Send a frame; false when the socket is not open (the caller keeps it for later). */
  send(frame) {
    if (!this.isOpen) return false;
    try {
      this.ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  /** If we are waiting out a backoff delay, try now (the network came back, the tab is visible). */
  reconnectSoon() {
    if (this.stopped || this.ws !== null || this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.connect({ resume: true });
  }

  detach() {
    clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(1000, 'client closed');
      } catch {
        // Already closing.
      }
    }
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.options.onState(state);
  }

  /**
   * @param {{resume: boolean, probeFor?: string}} how
   *   resume: use the stored session id; probeFor: this is a fresh connection made because
   *   resuming probeFor failed before opening: if it opens, the server refused that id.
   */
  connect(how) {
    const id = how.resume ? this.options.sessionId() : null;
    let ws;
    this.setState('connecting');
    try {
      ws = new WebSocket(socketUrl(this.options.baseUrl, id, this.options.token ? this.options.token() : null));
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    let opened = false;
    let framesSeen = 0;

    ws.onopen = () => {
      if (ws !== this.ws) return;
      opened = true;
      this.attempt = 0;
      this.setState('open');
      if (how.probeFor) this.options.onResumeRefused(how.probeFor);
      this.options.onOpen({ fresh: !id });
    };

    ws.onmessage = (event) => {
      if (ws !== this.ws || typeof event.data !== 'string') return;
      framesSeen += 1;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame && typeof frame === 'object') this.options.onFrame(frame);
    };

    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.setState('closed');
      if (this.stopped) return;
      // A refused handshake looks the same as a server that is down (close before open).
      // Tell them apart by trying a fresh connection: if that one opens, the id was refused.
      const refusedAfterOpen = opened && framesSeen === 0 && (event.code === 1008 || event.code >= 4000);
      if (id && (!opened || refusedAfterOpen)) {
        this.connect({ resume: false, probeFor: id });
        return;
      }
      this.scheduleReconnect();
    };

    ws.onerror = () => {
      // A close event always follows; nothing to do here.
    };
  }

  scheduleReconnect() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const base = Math.min(MAX_DELAY_MS, 500 * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt += 1;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect({ resume: true });
    }, delay);
  }
}
