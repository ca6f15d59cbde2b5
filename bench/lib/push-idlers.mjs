// Bench child: opens N idle JMAP push connections of one kind ("eventsource" or "websocket", over TLS,
// authenticated, push enabled) to the server in argv, prints "ready" once all are open, and holds them
// until its stdin closes. A separate process, so the server's memory is measured without the clients'.
import https from 'node:https';
import WebSocket from 'ws';

const [kind, port, auth, n, ca] = [process.argv[2], Number(process.argv[3]), process.argv[4], Number(process.argv[5]), Buffer.from(process.argv[6], 'base64').toString()];
const agent = new https.Agent({ keepAlive: false, maxSockets: Infinity, ca });
const held = [];
const openEs = () => new Promise((resolve, reject) => {
  const req = https.get({ host: '127.0.0.1', port, servername: 'localhost', agent, path: '/jmap/eventsource?types=*&closeafter=no&ping=0', headers: { Authorization: auth } }, (res) => {
    if (res.statusCode !== 200) return reject(new Error(`eventsource ${res.statusCode}`));
    res.once('data', () => resolve());
    held.push(res);
  });
  req.on('error', reject);
});
const openWs = () => new Promise((resolve, reject) => {
  const ws = new WebSocket(`wss://127.0.0.1:${port}/jmap/ws`, 'jmap', { ca, servername: 'localhost', headers: { Authorization: auth } });
  ws.once('open', () => {
    ws.send(JSON.stringify({ '@type': 'WebSocketPushEnable', dataTypes: null }));
    held.push(ws);
    resolve();
  });
  ws.once('error', reject);
});
const open = kind === 'websocket' ? openWs : openEs;
for (let i = 0; i < n; i += 20) await Promise.all(Array.from({ length: Math.min(20, n - i) }, () => open()));
process.stdout.write('ready\n');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
