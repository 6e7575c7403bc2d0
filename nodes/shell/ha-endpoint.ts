// One endpoint under lease (DESIGN.md §5, docs/lease.md): a hot standby (table kept warm) until
// the lease is won; then, in this order, fence the previous owner's producer, rehydrate (the
// tail), run the gain hook, bind the address, recover tunnels (RFC 4951) and serve. Any stop of
// serving (lease lost, guard tripped, writer fenced, bind or gain failed, release, shutdown)
// hands the lease back. A configured hook command runs when the node gains or loses the endpoint.
import { spawn } from 'node:child_process'
import * as E from 'fp-ts/lib/Either.js'
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
import type { EndpointTable } from '../../registry/index.js'
import {
  describeInfraError,
  type EndpointWriter,
  type EventLogDeps,
  issuedEndpoint,
  type KvBucket,
  type NatsConnection,
  openEndpointWriter,
  serve,
  stopService,
} from '../../registry/shell/index.js'
import type { EngineConfig } from '../engine/types.js'
import { audited, endpointCommands } from './commands.js'
import { DEFAULT_LEASE, EndpointLease, type LeaseClock, type LeaseOptions, systemClock } from './lease.js'
import type { EndpointWatch } from './observe.js'
import { DEFAULT_OUTBOX, type Outbox, type OutboxOptions } from './outbox.js'
import { activate, attachOutbox, type Publishing, rehydrateOrRefuse } from './publishing.js'
import { type EndpointHooks, UdpEndpoint } from './udp-endpoint.js'
import { WarmTable } from './warm-table.js'

type Log = (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void

export interface HaOptions {
  readonly lease?: LeaseOptions
  /** Shell command run on gain/lose, with L2TP_EVENT, L2TP_ENDPOINT, L2TP_EPOCH, L2TP_ADDRESS set. */
  readonly hook?: string
  readonly endpointHooks?: EndpointHooks
  readonly outbox?: OutboxOptions
  /** Counts recovery progress across this node's takeovers of the endpoint. */
  readonly watch?: EndpointWatch
  /** Keep the table warm while standing by (default true): a takeover then reads only the tail. */
  readonly hot?: boolean
  /** The lease's clock (tests pass a fake one). */
  readonly clock?: LeaseClock
  /** Longest wait for the gain hook before the takeover is given up (default 10 s). */
  readonly hookTimeoutMs?: number
}

/** How long a takeover waits for the warm table to read the tail before reading it cold. */
const TAIL_TIMEOUT_MS = 15_000

/** How long a node that lost an endpoint keeps flushing that endpoint's events (see lose). */
const LOSE_DRAIN_MS = 3000

export class HaEndpoint {
  private lease: EndpointLease
  private current: { ep: UdpEndpoint; publishing: Publishing; service: Service | null } | null = null
  private readonly warm: WarmTable | null
  private stopped = false

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
      () => 0,
      options.clock ?? systemClock,
    )
    this.warm = options.hot === false ? null : new WarmTable(deps, identity.endpointId, log)
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
    this.warm?.start()
    this.lease.start()
  }

  /** Throws when the lease went away during the takeover (its timers run on their own). */
  private stillOwner(step: string): void {
    if (!this.lease.isOwner || this.stopped) throw new Error(`lease lost during the takeover (${step})`)
  }

  /**
   * The takeover, in this order: fence the old owner's producer (its last transaction is
   * aborted, so the log's committed end is final); rehydrate (the warm table reads the tail);
   * the gain hook (moves the address here); bind; record EndpointActivated and recover. A
   * failure on the way undoes what was done and throws: the lease is handed back.
   */
  private async gain(leaseEpoch: number): Promise<void> {
    const id = this.identity.endpointId
    const t0 = performance.now()
    const writer = await this.fence(id)
    const fencedAt = performance.now()
    const undo = async (lose: boolean, epoch: number) => {
      await writer.close().catch(() => undefined)
      if (lose) this.runHook('lose', epoch)
      if (!this.stopped) this.warm?.start()
    }
    const { table, tailEvents } = await this.rehydrate(id).catch(async (e: unknown) => {
      await undo(false, leaseEpoch)
      throw e
    })
    const rehydratedAt = performance.now()
    const epoch = Math.max(table.epoch + 1, leaseEpoch)
    if (!(await this.awaitHook('gain', epoch)) || !this.lease.isOwner) {
      await undo(true, epoch)
      throw new Error('the gain hook failed (or the lease was lost meanwhile)')
    }
    const { ep, outbox } = await this.bindServing(table, epoch, writer, () => undo(true, epoch))
    const { rehydratedTunnels, recovering } = activate(ep, table, epoch)
    const publishing: Publishing = { outbox, epoch, rehydratedTunnels, recovering }
    this.current = { ep, publishing, service: null }
    if (this.options.watch !== undefined) this.options.watch.recovery.queued += recovering
    this.log('info', 'serving endpoint', {
      endpoint: id,
      epoch,
      recovering,
      hot: tailEvents !== null,
      tailEvents,
      fenceMs: Math.round(fencedAt - t0),
      rehydrateMs: Math.round(rehydratedAt - fencedAt),
      bindMs: Math.round(performance.now() - rehydratedAt),
    })
    const service = this.nc === null ? null : await this.serveCommands(this.nc, ep).catch(() => null)
    if (this.current?.ep === ep) this.current = { ep, publishing, service }
    else await stopService(service)
  }

  /** Step 1: open the endpoint's transactional writer; its InitProducerId fences the old owner. */
  private async fence(id: EndpointId): Promise<EndpointWriter> {
    const w = await openEndpointWriter(this.deps, id)()
    if (E.isRight(w)) return w.right
    this.warm?.start()
    throw new Error(`cannot open the event writer of ${id}: ${describeInfraError(w.left)}`)
  }

  /** Step 2: the table, from the warm standby (the tail only) or cold (snapshot + tail). */
  private async rehydrate(id: EndpointId): Promise<{ table: EndpointTable; tailEvents: number | null }> {
    this.stillOwner('fence')
    const warm = (await this.warm?.take(TAIL_TIMEOUT_MS)) ?? null
    const table = warm?.table ?? (await rehydrateOrRefuse(this.deps, id))
    this.stillOwner('rehydrate')
    return { table, tailEvents: warm?.tailEvents ?? null }
  }

  /**
   * Step 4: the endpoint, its outbox subscribed before the socket is bound (no event of the
   * endpoint is missed), then the bind. A failed bind closes both and undoes the takeover.
   */
  private async bindServing(
    table: EndpointTable,
    epoch: number,
    writer: EndpointWriter,
    undo: () => Promise<void>,
  ): Promise<{ ep: UdpEndpoint; outbox: Outbox }> {
    const ep = new UdpEndpoint(
      this.config,
      this.bind,
      { ...this.identity, epoch },
      {
        ...(this.options.endpointHooks ?? {}),
        guard: () => this.lease.valid(),
        onGuardFailed: () =>
          queueMicrotask(() => this.lose('lease validity ran out (this process was stopped or cut off)')),
        reuseAddr: true,
      },
    )
    const outbox = attachOutbox(
      ep,
      this.deps,
      table,
      epoch,
      this.log,
      this.options.outbox ?? DEFAULT_OUTBOX,
      () => this.lose('event writer fenced'),
      writer,
    )
    try {
      await ep.start()
      this.stillOwner('bind')
      return { ep, outbox }
    } catch (e) {
      await ep.stop()
      await outbox.close()
      await undo()
      throw new Error(
        `cannot serve ${this.identity.endpointId} on ${this.bind.host}:${this.bind.port}: ${String(e)}`,
      )
    }
  }

  /**
   * Stop serving at once, send nothing more for this endpoint, and hand the lease back (it is
   * never renewed again), whatever the reason: lease lost, guard tripped, writer fenced.
   * Events of what happened while we served still go to the log, for up to LOSE_DRAIN_MS: they
   * are facts of our epoch, and the next owner fences our writer before it reads the tail, so
   * whatever commits first is in its table and nothing can commit after (dropping them, as this
   * did, left sessions set up or closed in the last moments out of the log: the nats-server
   * drill's lease-leader kills found 1 and 8).
   */
  private lose(why: string): void {
    void this.lease.handBack()
    const c = this.current
    if (c === null) return
    this.current = null
    this.log('warn', 'stopped serving endpoint', { endpoint: this.identity.endpointId, why })
    void stopService(c.service)
    void c.ep.stop()
    const outbox = c.publishing.outbox
    const pending = outbox.pending
    void outbox.drain(LOSE_DRAIN_MS).then(async (drained) => {
      if (pending > 0)
        this.log(drained ? 'info' : 'warn', 'events of the lost endpoint flushed to the log', {
          endpoint: this.identity.endpointId,
          events: pending,
          left: outbox.pending,
        })
      await outbox.close()
    })
    this.runHook('lose', c.publishing.epoch)
    if (!this.stopped) this.warm?.start()
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
    if (!this.stopped) this.warm?.start()
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
    void this.awaitHook(event, epoch)
  }

  /** Runs the hook and resolves true when it exited 0 (or there is none), false otherwise. */
  private awaitHook(event: 'gain' | 'lose', epoch: number): Promise<boolean> {
    if (this.options.hook === undefined) return Promise.resolve(true)
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
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.log('warn', 'endpoint hook timed out', { event })
        child.kill('SIGKILL')
        resolve(false)
      }, this.options.hookTimeoutMs ?? 10_000)
      child.on('error', (e) => {
        clearTimeout(timer)
        this.log('warn', 'endpoint hook failed', { event, error: String(e) })
        resolve(false)
      })
      child.on('exit', (code) => {
        clearTimeout(timer)
        if (code !== 0) this.log('warn', 'endpoint hook failed', { event, code })
        resolve(code === 0)
      })
    })
  }

  /** Graceful stop: a served endpoint is released to a standby (planned switchover) first. */
  async shutdown(reason: string, timeoutMs: number): Promise<void> {
    if (this.current !== null) await this.release(reason, timeoutMs)
    await this.stop()
  }

  async stop(): Promise<void> {
    this.stopped = true
    await this.warm?.stop()
    await this.lease.handBack()
    this.lease.stop()
    const c = this.current
    this.current = null
    await stopService(c?.service)
    await c?.publishing.outbox.drain(5000)
    await c?.publishing.outbox.close()
    await c?.ep.stop()
  }
}
