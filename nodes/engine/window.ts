// The peer's Receive Window Size (RFC 2661 §4.4.3: absent means 4). Sans-IO.
import { setPeerWindow } from '../control/channel.js'
import type { Tunnel } from './types.js'

export const DEFAULT_WINDOW = 4

export const setPeerWindowOf = (t: Tunnel, window: number): void => {
  t.peerWindow = window
  setPeerWindow(t.channel, window)
}
