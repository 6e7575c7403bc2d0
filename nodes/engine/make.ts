// Building a tunnel record of the engine (shared by the engine and RFC 4951 recovery). Sans-IO.
import type { Address } from '../../contracts/index.js'
import { openChannel } from '../control/channel.js'
import { type Ctx, pickId } from './io.js'
import type { Tunnel } from './types.js'
import { DEFAULT_WINDOW } from './window.js'

export const newTunnel = (ctx: Ctx, peer: Address, originator: Tunnel['originator']): Tunnel => {
  const e = ctx.engine
  const localId = pickId(ctx.rng, (id) => e.tunnels.has(id) || e.reserved.has(id))
  const t: Tunnel = {
    localId,
    peer,
    state: originator === 'local' ? 'wait-ctl-reply' : 'wait-ctl-conn',
    originator,
    channel: openChannel(e.config.channel, ctx.now, DEFAULT_WINDOW),
    peerHostName: '',
    peerVendorName: null,
    peerFirmwareRevision: null,
    peerFraming: { sync: false, async: false },
    peerBearer: { digital: false, analog: false },
    peerWindow: DEFAULT_WINDOW,
    peerFailover: null,
    ourChallenge: null,
    peerAssignedId: 0,
    authenticated: false,
    secret: originator === 'local' ? e.config.secretFor(null) : null,
    sessions: new Map(),
    forgetAt: null,
    establishedReported: false,
    recoveryOf: null,
    recovering: false,
    recoveryDeadline: null,
    suggested: null,
    recoveryStartedAt: null,
  }
  e.tunnels.set(localId, t)
  return t
}
