// A stand-in NATS server that speaks just enough of the protocol (INFO, then PONG for every
// PING) and can be made silent: a server that stops answering, as a hung or partitioned one does.
import { createServer, type Server, type Socket } from 'node:net'

const INFO = {
  server_id: 'stall',
  server_name: 'stall',
  version: '2.10.0',
  proto: 1,
  headers: true,
  max_payload: 1048576,
}

/** A server that answers PING with PONG while `answering`, and otherwise stays silent. */
export const stallingServer = async () => {
  const state = { answering: true, sockets: [] as Socket[] }
  const server: Server = createServer((socket) => {
    state.sockets.push(socket)
    socket.write(`INFO ${JSON.stringify(INFO)}\r\n`)
    socket.on('data', (d) => {
      const pings = d
        .toString('utf8')
        .split('\r\n')
        .filter((l) => l === 'PING').length
      if (state.answering) for (let i = 0; i < pings; i++) socket.write('PONG\r\n')
    })
    socket.on('error', () => undefined)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const close = () => {
    for (const s of state.sockets) s.destroy()
    return new Promise<void>((r) => server.close(() => r()))
  }
  return { state, port, close }
}
