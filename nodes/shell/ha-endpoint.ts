// One endpoint under lease (DESIGN.md §5): standby until the lease is won; then bind its address,
// fence the previous owner's producer, rehydrate from Kafka, recover tunnels (RFC 4951) and
// serve; stop at once when the lease is lost; release on request (planned switchover).
// A configured hook command runs when the node gains or loses the endpoint.
import { spawn } from 'node:child_process'
import type { Service } from 'nats'
import {
  type Address,
  type EndpointId,
  endpointReleased,
  endpointSubjects,
  errorReply,
  type NodeId,
  nodeServiceMetadata,
  nodeSubjects,
  okReply,
  ReleaseEndpoint,
  type Reply,
  SERVICE_NODE,
} from '../../contracts/index.js'
import {
  type EventLogDeps,
  issuedEndpoint,
  type KvBucket,
  type NatsConnection,
  serve,
  stopService,
} from '../../registry/shell/index.js'
import type { EngineConfig } from '../engine/types.js'
import { audited, endpointCommands } from './commands.js'
import { DEFAULT_LEASE, EndpointLease, type LeaseOptions } from './lease.js'
import type { EndpointWatch } from './observe.js'
import { DEFAULT_OUTBOX, type Outbox, type OutboxOptions } from './outbox.js'
import { type Publishing, startPublishing } from './publishing.js'
import { type EndpointHooks, UdpEndpoint } from './udp-endpoint.js'

type Log = (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void

export interface HaOptions {
  readonly lease?: LeaseOptions
  /** Shell command run on gain/lose, with L2TP_EVENT, L2TP_ENDPOINT, L2TP_EPOCH, L2TP_ADDRESS set. */
  readonly hook?: string
  readonly endpointHooks?: EndpointHooks
  readonly outbox?: OutboxOptions
  /** Counts recovery progress across this node's takeovers of the endpoint. */
  readonly watch?: EndpointWatch
}

export class HaEndpoint {
  private lease: EndpointLease
  private current: { ep: UdpEndpoint; publishing: Publishing; service: Service | null } | null = null

  constructor(
    private readonly config: EngineConfig,
    private readonly bind: Address,
    private readonly identity: { endpointId: EndpointId; nodeId: NodeId },
    private readonly deps: EventLogDeps,
    kv: KvBucket,
    private readonly nc: NatsConnection | null,
    private readonly log: Log,
    private readonly options: HaOptions = {},
  ) {
    this.lease = new EndpointLease(
      kv,
      identity.endpointId,
      identity.nodeId,
      { onAcquired: (epoch) => this.gain(epoch), onLost: (why) => this.lose(why), log },
      options.lease ?? DEFAULT_LEASE,
    )
  }

  get endpoint(): UdpEndpoint | null {
    return this.current?.ep ?? null
  }

  get publishing(): Publishing | null {
    return this.current?.publishing ?? null
  }

  get outbox(): Outbox | null {
    return this.current?.publishing.outbox ?? null
  }

  /** The lease as the metrics show it. */
  get leaseState(): { readonly held: boolean; readonly epoch: number } {
    return { held: this.lease.isOwner, epoch: this.lease.currentEpoch }
  }

  start(): void {
    this.lease.start()
  }

  private async gain(epoch: number): Promise<void> {
    const ep = new UdpEndpoint(
      this.config,
      this.bind,
      { ...this.identity, epoch },
      {
        ...(this.options.endpointHooks ?? {}),
        guard: () => this.lease.valid(Date.now()),
        onGuardFailed: () =>
          queueMicrotask(() => this.lose('lease lapsed (this process was stopped or cut off)')),
        reuseAddr: true,
      },
    )
    await ep.start()
    const publishing = await startPublishing(
      ep,
      this.deps,
      this.log,
      this.options.outbox ?? DEFAULT_OUTBOX,
      () => this.lose('event writer fenced'),
      256,
      epoch,
    )
    const service = this.nc === null ? null : await this.serveCommands(this.nc, ep)
    this.current = { ep, publishing, service }
    if (this.options.watch !== undefined) this.options.watch.recovery.queued += publishing.recovering
    this.log('info', 'serving endpoint', {
      endpoint: this.identity.endpointId,
      epoch: publishing.epoch,
      recovering: publishing.recovering,
    })
    this.runHook('gain', publishing.epoch)
  }

  /** Lost the lease or fenced: stop serving at once, send nothing more for this endpoint. */
  private lose(why: string): void {
    const c = this.current
    if (c === null) return
    this.current = null
    this.log('warn', 'stopped serving endpoint', { endpoint: this.identity.endpointId, why })
    void stopService(c.service)
    void c.publishing.outbox.close()
    void c.ep.stop()
    this.runHook('lose', c.publishing.epoch)
  }

  /** Planned switchover: flush, record EndpointReleased, flush, release the lease, stop. */
  async release(reason: string, timeoutMs = 30_000): Promise<boolean> {
    const c = this.current
    if (c === null) return false
    c.ep.refusal.set('release', true)
    await c.publishing.outbox.drain(timeoutMs)
    c.ep.record(endpointReleased(reason))
    await c.publishing.outbox.drain(timeoutMs)
    this.current = null
    await this.lease.release()
    await stopService(c.service)
    await c.publishing.outbox.close()
    await c.ep.stop()
    this.log('info', 'released endpoint (a standby may claim it now)', {
      endpoint: this.identity.endpointId,
      epoch: c.publishing.epoch,
      reason,
    })
    this.runHook('lose', c.publishing.epoch)
    return true
  }

  private serveCommands(nc: NatsConnection, ep: UdpEndpoint): Promise<Service> {
    const subjects = endpointSubjects(this.identity.endpointId)
    const release = issuedEndpoint({
      name: 'release',
      subject: subjects.release,
      request: ReleaseEndpoint,
      handle: async (r, { issuer }) => {
        if (r.endpointId !== this.identity.endpointId) return errorReply('BadRequest', 'endpoint mismatch')
        const c = this.current
        if (c === null) return errorReply('NotOwner', 'not serving this endpoint')
        // Recorded before the release: afterwards this node no longer writes the endpoint's log.
        const reply = audited(
          c.ep,
          { command: 'ReleaseEndpoint', subject: subjects.release, issuer },
          okReply({ released: this.identity.endpointId }),
        )
        const ok = await this.release(`release requested by ${issuer}`)
        return ok ? reply : errorReply('NotOwner', 'not serving this endpoint')
      },
    })
    return serve(
      nc,
      {
        name: SERVICE_NODE,
        version: '0.1.0',
        description: `l2tp-node ${this.identity.nodeId} serving ${this.identity.endpointId}`,
        metadata: nodeServiceMetadata(this.identity.nodeId, this.identity.endpointId),
      },
      endpointCommands(ep, release),
    )
  }

  /**
   * Operator takeover (TakeOverEndpoint on this standby): ask the owner to release (a planned
   * switchover); if it does not answer, claim at once. Resolves with who owns it afterwards.
   * Once this node serves the endpoint the takeover is audited in its log (CommandApplied
   * TakeOverEndpoint, issued by the operator); a takeover that lost the race is only logged.
   */
  async takeOver(issuer: string, askOwner: () => Promise<boolean>): Promise<Reply<unknown>> {
    if (this.current !== null)
      return okReply({ endpointId: this.identity.endpointId, owner: this.identity.nodeId })
    const released = await askOwner().catch(() => false)
    this.log('info', 'takeover requested', {
      endpoint: this.identity.endpointId,
      issuer,
      ownerReleased: released,
    })
    const owned = await this.lease.claimNow()
    if (!owned) return errorReply('Conflict', 'another node claimed the endpoint first')
    const reply = okReply({
      endpointId: this.identity.endpointId,
      owner: this.identity.nodeId,
      epoch: this.lease.currentEpoch,
    })
    const ep = this.endpoint // set by the claim (gain ran before claimNow resolved)
    if (ep === null) return reply
    const subject = nodeSubjects(this.identity.nodeId).takeover
    return audited(ep, { command: 'TakeOverEndpoint', subject, issuer }, reply)
  }

  get isServing(): boolean {
    return this.current !== null
  }

  private runHook(event: 'gain' | 'lose', epoch: number): void {
    if (this.options.hook === undefined) return
    const child = spawn(this.options.hook, {
      shell: true,
      stdio: 'ignore',
      env: {
        ...process.env,
        L2TP_EVENT: event,
        L2TP_ENDPOINT: this.identity.endpointId,
        L2TP_EPOCH: String(epoch),
        L2TP_ADDRESS: `${this.bind.host}:${this.bind.port}`,
      },
    })
    child.on('exit', (code) => {
      if (code !== 0) this.log('warn', 'endpoint hook failed', { event, code })
    })
  }

  /** Graceful stop: a served endpoint is released to a standby (planned switchover) first. */
  async shutdown(reason: string, timeoutMs: number): Promise<void> {
    if (this.current !== null) await this.release(reason, timeoutMs)
    await this.stop()
  }

  async stop(): Promise<void> {
    this.lease.stop()
    const c = this.current
    this.current = null
    await stopService(c?.service)
    await c?.publishing.outbox.drain(5000)
    await c?.publishing.outbox.close()
    await c?.ep.stop()
  }
}
