// The demo's terminal: on a TTY the dashboard is redrawn in place (cursor up, clear, draw); on a
// pipe every event is one line and the progress a line at most every 2 s when it changed. Shell.
import type { WriteStream } from 'node:tty'
import { type Dashboard, progressLine, renderDashboard } from './view.js'

export class Screen {
  readonly tty: boolean
  private drawn = 0
  private frozen = false
  private lastProgress = ''
  private lastProgressAt = 0

  constructor(private readonly out: NodeJS.WriteStream | WriteStream) {
    this.tty = out.isTTY === true && process.env.TERM !== 'dumb'
  }

  private write(s: string): void {
    this.out.write(s)
  }

  /** A line that stays (above the dashboard on a TTY). */
  line(s: string): void {
    if (s === '') return
    this.erase()
    this.write(`${s}\n`)
  }

  /** An event of the run: a line on a pipe; on a TTY the dashboard's list shows it. */
  event(s: string): void {
    if (!this.tty || this.frozen) this.write(`${s}\n`)
  }

  update(d: Dashboard): void {
    if (this.frozen) return
    if (!this.tty) {
      const p = progressLine(d)
      if (p !== this.lastProgress && Date.now() - this.lastProgressAt >= 2000) {
        this.lastProgress = p
        this.lastProgressAt = Date.now()
        this.write(`  ${p}\n`)
      }
      return
    }
    const lines = renderDashboard(d, Math.max(40, (this.out.columns ?? 100) - 1))
    this.erase()
    this.write(`\x1b[?25l${lines.join('\n')}\n\x1b[?25h`)
    this.drawn = lines.length
  }

  private erase(): void {
    if (!this.tty || this.drawn === 0) return
    this.write(`\x1b[${this.drawn}F\x1b[J`)
    this.drawn = 0
  }

  /** The dashboard as last drawn stays; everything after is plain lines. */
  freeze(): void {
    this.frozen = true
    this.drawn = 0
  }
}
