// Page side of the interop harness: one WebSocket back to the test that served the page.
//
//   import { run } from '/harness.js';
//   run(async (h) => { ...; h.send({sdp}); const reply = await h.recv(); ...; return {measured}; });
//
// `run` posts a passing verdict with the returned detail, or a failing one with the error.

const params = new URL(location.href).searchParams;
const pageId = params.get('page') ?? 'main';
const socket = new WebSocket(`ws://${location.host}/ws?page=${encodeURIComponent(pageId)}`);
const pending = [];
const inbox = [];
const waiters = [];
let finished = false;

const opened = new Promise((resolve, reject) => {
  socket.onopen = () => {
    for (const frame of pending.splice(0)) socket.send(frame);
    resolve();
  };
  socket.onerror = () => reject(new Error('harness socket failed to open'));
});

socket.onmessage = (event) => {
  const body = JSON.parse(event.data);
  const waiter = waiters.shift();
  if (waiter) waiter(body);
  else inbox.push(body);
};

function post(frame) {
  const text = JSON.stringify(frame);
  if (socket.readyState === WebSocket.OPEN) socket.send(text);
  else pending.push(text);
}

function verdict(ok, detail) {
  if (finished) return;
  finished = true;
  post({ kind: 'verdict', ok, detail });
}

/** The handle a scenario body receives. */
export const harness = {
  /** This page's participant id (`?page=`) and all query parameters. */
  id: pageId,
  params,
  /** Sends a JSON message to the test. */
  send(body) {
    post({ kind: 'msg', body });
  },
  /** Resolves with the test's next JSON message. */
  recv() {
    if (inbox.length) return Promise.resolve(inbox.shift());
    return new Promise((resolve) => waiters.push(resolve));
  },
  /** Logs to the console and to the test's failure report. */
  log(...parts) {
    const text = parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(' ');
    console.log(text);
    post({ kind: 'log', text });
  },
  pass(detail = {}) {
    verdict(true, detail);
  },
  fail(reason, detail = {}) {
    verdict(false, { ...detail, reason: String(reason) });
  },
};

window.addEventListener('error', (e) => harness.fail(`uncaught error: ${e.message}`));
window.addEventListener('unhandledrejection', (e) =>
  harness.fail(`unhandled rejection: ${e.reason && e.reason.stack ? e.reason.stack : e.reason}`),
);

/** Runs a scenario body and reports its outcome as the page's verdict. */
export async function run(body) {
  try {
    await opened;
    const detail = await body(harness);
    harness.pass(detail ?? {});
  } catch (e) {
    harness.fail(e && e.stack ? e.stack : e);
  }
}

/**
 * Makes Chromium gather 127.0.0.1 host candidates in a loopback-only namespace: it does so
 * only with --allow-loopback-in-peer-connection *and* a granted getUserMedia, which must
 * happen before the RTCPeerConnection is created. The tracks are stopped at once.
 */
export async function allowLoopbackCandidates() {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  for (const track of stream.getTracks()) track.stop();
}

/** Resolves with the first `type` event on `target` for which `accept(event)` holds. */
export function once(target, type, accept = () => true) {
  return new Promise((resolve) => {
    const listener = (event) => {
      if (!accept(event)) return;
      target.removeEventListener(type, listener);
      resolve(event);
    };
    target.addEventListener(type, listener);
  });
}

/** Rejects after `ms` milliseconds with `what` in the message, unless `promise` settles. */
export function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The selected candidate pair's current round-trip time in seconds, from getStats(). */
export async function selectedPairRtt(pc) {
  const stats = await pc.getStats();
  for (const report of stats.values()) {
    if (report.type === 'candidate-pair' && report.nominated && report.state === 'succeeded') {
      return report.currentRoundTripTime ?? null;
    }
  }
  return null;
}
