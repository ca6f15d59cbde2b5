import WebSocket from 'ws';
const ws = new WebSocket(process.argv[2]);
let id = 0; const pending = new Map();
const call = (method, params = {}) => new Promise((res) => { const i = ++id; pending.set(i, res); ws.send(JSON.stringify({ id: i, method, params })); });
ws.on('message', (m) => { const r = JSON.parse(m.toString()); if (r.id && pending.has(r.id)) { pending.get(r.id)(r); pending.delete(r.id); } });
ws.on('open', async () => {
  await call('Runtime.enable');
  const proto = await call('Runtime.evaluate', { expression: process.argv[3] });
  const arr = await call('Runtime.queryObjects', { prototypeObjectId: proto.result.result.objectId });
  const out = await call('Runtime.callFunctionOn', { objectId: arr.result.objects.objectId, returnByValue: true, functionDeclaration: process.argv[4] });
  console.log(out.result.result.value ?? JSON.stringify(out).slice(0, 2000));
  ws.close();
});
