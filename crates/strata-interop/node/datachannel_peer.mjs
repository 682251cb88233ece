// A libdatachannel peer (through node-datachannel) speaking the signaling of Strata's
// `offer` and `answer` examples: one JSON line per description on stdin/stdout, sent once
// gathering is complete (no trickle).
//
//   node datachannel_peer.mjs answer   read an offer line, print the answer line, echo every
//                                      message on every channel back unchanged; exit 0 once
//                                      the peer closed every channel it opened.
//   node datachannel_peer.mjs offer    open channel `chat`, print the offer line, read the
//                                      answer line; then send each stdin line on `chat` (a line
//                                      `binary:TEXT` goes out as the bytes of TEXT) and print each
//                                      message received (binary ones as `binary:TEXT`); at the
//                                      end of stdin wait until everything is sent, close, exit 0.
//
// Logs go to stderr; any failure exits 1 with the reason on stderr.

import readline from 'node:readline';
import nodeDataChannel from 'node-datachannel';

const role = process.argv[2];
if (role !== 'offer' && role !== 'answer') {
  console.error('usage: datachannel_peer.mjs offer|answer');
  process.exit(2);
}

const log = (...args) => console.error(`[libdatachannel ${role}]`, ...args);
const fail = (why) => {
  log(`FAILED: ${why}`);
  nodeDataChannel.cleanup();
  process.exit(1);
};
const done = () => {
  log('done');
  nodeDataChannel.cleanup();
  process.exit(0);
};

// A private network namespace has only `lo`, which libdatachannel skips unless bound to it.
const pc = new nodeDataChannel.PeerConnection(role, {
  iceServers: [],
  bindAddress: '127.0.0.1',
});

pc.onStateChange((state) => {
  log(`connection ${state}`);
  if (state === 'failed') fail('connection failed');
});

let printedDescription = false;
pc.onGatheringStateChange((state) => {
  if (state !== 'complete' || printedDescription) return;
  const description = pc.localDescription();
  if (!description) fail('gathering completed without a local description');
  printedDescription = true;
  process.stdout.write(JSON.stringify({ type: role, sdp: description.sdp }) + '\n');
});

const input = readline.createInterface({ input: process.stdin, terminal: false });
let remoteSet = false;

function applyRemote(line) {
  let description;
  try {
    description = JSON.parse(line);
  } catch (error) {
    fail(`not a JSON line: ${error}`);
  }
  const expected = role === 'offer' ? 'answer' : 'offer';
  if (description.type !== expected || typeof description.sdp !== 'string') {
    fail(`expected {"type":"${expected}","sdp":...}, got ${line.slice(0, 80)}`);
  }
  pc.setRemoteDescription(description.sdp, expected);
  remoteSet = true;
}

if (role === 'answer') {
  const channels = new Set();
  let everOpened = false;
  pc.onDataChannel((channel) => {
    const label = channel.getLabel();
    log(`channel ${label} opened by the peer`);
    channels.add(channel);
    everOpened = true;
    channel.onMessage((message) => {
      if (typeof message === 'string') channel.sendMessage(message);
      else channel.sendMessageBinary(message);
    });
    channel.onClosed(() => {
      log(`channel ${label} closed`);
      channels.delete(channel);
      if (everOpened && channels.size === 0) {
        pc.close();
        done();
      }
    });
  });
  input.on('line', (line) => {
    if (!remoteSet && line.trim() !== '') applyRemote(line);
  });
  input.on('close', () => {
    if (!remoteSet) fail('stdin ended before the offer');
  });
} else {
  const chat = pc.createDataChannel('chat');
  let open = false;
  let ended = false;
  const waiting = [];
  const send = (line) => {
    if (line.startsWith('binary:')) chat.sendMessageBinary(Buffer.from(line.slice(7), 'utf8'));
    else chat.sendMessage(line);
  };
  const finish = () => {
    // Wait until libdatachannel has handed everything to SCTP, then close.
    const poll = setInterval(() => {
      if (chat.bufferedAmount() === 0) {
        clearInterval(poll);
        chat.close();
        pc.close();
        done();
      }
    }, 10);
  };
  chat.onOpen(() => {
    log('channel chat open');
    open = true;
    for (const line of waiting.splice(0)) send(line);
    if (ended) finish();
  });
  chat.onMessage((message) => {
    const line = typeof message === 'string' ? message : `binary:${message.toString('utf8')}`;
    process.stdout.write(line + '\n');
  });
  chat.onClosed(() => {
    if (!ended) fail('channel chat closed by the peer');
  });
  input.on('line', (line) => {
    if (!remoteSet) {
      if (line.trim() !== '') applyRemote(line);
    } else if (open) {
      send(line);
    } else {
      waiting.push(line);
    }
  });
  input.on('close', () => {
    ended = true;
    if (!remoteSet) fail('stdin ended before the answer');
    if (open) finish();
  });
}
