// l2tpctl output that survives pipes: every write waits until the stream took it (backpressure),
// a reader that goes away (EPIPE, `| head`) ends the command quietly, and listings stream page
// by page as human text, one JSON array, or NDJSON.

/** The reader of stdout went away (EPIPE): stop quietly, exit 0. */
export class PipeClosed extends Error {}

export type Format = 'human' | 'json' | 'ndjson'

export class Output {
  private closed = false

  constructor(
    readonly format: Format,
    private readonly stream: NodeJS.WritableStream = process.stdout,
  ) {
    // Without a listener an EPIPE would be thrown as an uncaught exception (a stack trace).
    stream.on('error', () => {
      this.closed = true
    })
  }

  /** Writes text and resolves once the stream has taken it; rejects with PipeClosed on EPIPE. */
  write(text: string): Promise<void> {
    if (this.closed) return Promise.reject(new PipeClosed())
    if (text === '') return Promise.resolve()
    return new Promise((resolve, reject) => {
      this.stream.write(text, (err) => {
        if (err === null || err === undefined) return resolve()
        this.closed = true
        reject(new PipeClosed())
      })
    })
  }

  /** One result: pretty JSON, one NDJSON line, or the human text. */
  one(data: unknown, human: () => string): Promise<void> {
    if (this.format === 'json') return this.write(`${JSON.stringify(data, null, 2)}\n`)
    if (this.format === 'ndjson') return this.write(`${JSON.stringify(data)}\n`)
    return this.write(`${human()}\n`)
  }

  /** A listing written as its pages come: the human header once, or a JSON array, or NDJSON. */
  listing<A>(human: { readonly header: string | null; readonly row: (a: A) => string }): Listing<A> {
    return new Listing(this, human)
  }
}

export class Listing<A> {
  private count = 0
  private headed = false

  constructor(
    private readonly out: Output,
    private readonly human: { readonly header: string | null; readonly row: (a: A) => string },
  ) {}

  page(items: readonly A[]): Promise<void> {
    const first = this.count === 0
    this.count += items.length
    switch (this.out.format) {
      case 'ndjson':
        return this.out.write(items.map((x) => `${JSON.stringify(x)}\n`).join(''))
      case 'json': {
        if (items.length === 0) return Promise.resolve()
        const body = items.map((x) => JSON.stringify(x)).join(',\n')
        return this.out.write(`${first ? '[\n' : ',\n'}${body}`)
      }
      case 'human': {
        const rows = items.map((x) => `${this.human.row(x)}\n`).join('')
        // The header once, also when the first pages are empty (a gathered page may be).
        const head = !this.headed && this.human.header !== null ? `${this.human.header}\n` : ''
        this.headed = true
        return this.out.write(`${head}${rows}`)
      }
    }
  }

  end(): Promise<void> {
    if (this.out.format === 'json') return this.out.write(this.count === 0 ? '[]\n' : '\n]\n')
    if (this.out.format === 'human' && !this.headed && this.human.header !== null) {
      this.headed = true
      return this.out.write(`${this.human.header}\n`)
    }
    return Promise.resolve()
  }
}

/** Waits until a stream has flushed what it was given (a zero-length write calls back after it). */
export const flushed = (stream: NodeJS.WritableStream): Promise<void> =>
  new Promise((resolve) => {
    try {
      stream.write('', () => resolve())
    } catch {
      resolve()
    }
  })
