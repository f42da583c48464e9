// Preload for Node test peers: `node --require tests/peers/loopback-listen.cjs ...`
// Used by tests/support/mod.rs to start server-everything.
//
// 1. Any TCP listen() that names no host is bound to 127.0.0.1 instead of all
//    interfaces, so the peer is reachable from loopback only.
//    Caveat: naming a host makes Node resolve it before binding, so address()
//    is null right after listen() returns; code that reads it synchronously
//    (the conformance suite's scenario servers do) breaks under this preload.
// 2. Every TCP listener reports its real address on stderr as
//        MCP_TEST_PEER_LISTENING <address> <port>
//    so a peer started with PORT=0 can be found without guessing free ports.
'use strict';

const net = require('net');

const LOOPBACK = '127.0.0.1';
const originalListen = net.Server.prototype.listen;

function isPortLike(value) {
  return (
    typeof value === 'number' ||
    (typeof value === 'string' && /^\d+$/.test(value))
  );
}

net.Server.prototype.listen = function listen(...args) {
  // listen() / listen(callback): an ephemeral port on all interfaces by default.
  if (args.length === 0 || typeof args[0] === 'function') {
    args.unshift(0);
  }
  const first = args[0];
  if (first === undefined || first === null || isPortLike(first)) {
    // listen(port[, host][, backlog][, callback])
    if (first === undefined || first === null) args[0] = 0;
    if (typeof args[1] !== 'string') {
      args.splice(1, 0, LOOPBACK);
    }
  } else if (
    typeof first === 'object' &&
    first.path === undefined &&
    first.fd === undefined &&
    first.handle === undefined &&
    first._handle === undefined &&
    !first.host
  ) {
    // listen(options[, callback]) with a port and no host
    args[0] = { ...first, host: LOOPBACK };
  }

  this.once('listening', () => {
    const address = this.address();
    if (address && typeof address === 'object') {
      process.stderr.write(
        `MCP_TEST_PEER_LISTENING ${address.address} ${address.port}\n`
      );
    }
  });
  return originalListen.apply(this, args);
};
