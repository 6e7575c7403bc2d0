// One endpoint served without a lease (plain mode): bind its address, optionally publish to the
// event log and answer operator commands; a graceful stop closes its tunnels with StopCCN
// result 6, waits a bounded time for the acknowledgements and flushes the outbox. Shell.
import type { Service } from 'nats'
import {
  type Address,
  type EndpointId,
  endpointReleased,
  type NodeId,
  nodeServiceMetadata,
  SERVICE_NODE,
} from '../../contracts/index.js'
import { type EventLogDeps, type NatsConnection, serve, stopService } from '../../registry/shell/index.js'
import type { EngineConfig } from '../engine/types.js'
import { endpointCommands } from './commands.js'
import { closeTunnelsForShutdown } from './graceful.js'
import type { EndpointWatch, Log } from './observe.js'
import type { Outbox, OutboxOptions } from './outbox.js'
import { type Publishing, startPublishing } from './publishing.js'
import { type EndpointHooks, UdpEndpoint } from './udp-endpoint.js'

export interface PlainOptions {
  /** Kafka: publish every event through the outbox (null: no publishing). */
  readonly deps: EventLogDeps | null
  /** NATS: answer this endpoint's operator commands (null: no control). */
  readonly nc: NatsConnection | null
  readonly outbox: OutboxOptions
  readonly watch: EndpointWatch
  readonly hooks?: EndpointHooks
}

export class PlainEndpoint {
  readonly endpoint: UdpEndpoint
  private publishing: Publishing | null = null
  private service: Service | null = null
  private stopped = false

  constructor(
    config: EngineConfig,
    bind: Address,
    identity: { endpointId: EndpointId; nodeId: NodeId },
    private readonly log: Log,
    private readonly options: PlainOptions,
  ) {
    this.endpoint = new UdpEndpoint(config, bind, { ...identity, epoch: 1 }, options.hooks ?? {})
  }

  get outbox(): Outbox | null {
    return this.publishing?.outbox ?? null
  }

  get serving(): boolean {
    return !this.stopped
  }

  async start(): Promise<void> {
    const ep = this.endpoint
    await ep.start()
    if (this.options.deps !== null) {
      this.publishing = await startPublishing(ep, this.options.deps, this.log, this.options.outbox, () => {
        this.log('error', 'fenced: another node owns this endpoint now; stopping it')
        this.stopped = true
        void ep.stop()
      })
      this.options.watch.recovery.queued += this.publishing.recovering
      this.log('info', 'publishing to Kafka', {
        epoch: this.publishing.epoch,
        rehydratedTunnels: this.publishing.rehydratedTunnels,
        recovering: this.publishing.recovering,
      })
    }
    if (this.options.nc !== null)
      this.service = await serve(
        this.options.nc,
        {
          name: SERVICE_NODE,
          version: '0.1.0',
          description: `l2tp-node ${ep.identity.nodeId} serving ${ep.identity.endpointId}`,
          metadata: nodeServiceMetadata(ep.identity.nodeId, ep.identity.endpointId),
        },
        endpointCommands(ep),
      )
    this.log('info', 'serving endpoint', { address: ep.bind, role: ep.engine.config.role, epoch: ep.epoch })
  }

  /** StopCCN 6 to every peer, wait (bounded) for the acks, flush the outbox, unbind. */
  async shutdown(timeoutMs: number): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    await stopService(this.service)
    const r = await closeTunnelsForShutdown(this.endpoint, timeoutMs)
    this.log('info', 'tunnels closed for shutdown', { ...r })
    const o = this.publishing?.outbox
    if (o !== undefined) {
      // Recorded so the registry shows the endpoint released, not an owner that silently went.
      this.endpoint.record(endpointReleased('node stopping'))
      const flushed = await o.drain(timeoutMs)
      if (!flushed) this.log('warn', 'outbox not flushed before exit', { pending: o.pending })
      await o.close()
    }
    await this.endpoint.stop()
  }
}
