// The lease value's decoding is strict (issue 9): what does not decode is not "free".
import { describe, expect, it } from 'vitest'
import { decodeLease, encodeLease } from '../../../nodes/shell/lease.js'

const bytes = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v))
const good = { node: 'node-1', epoch: 7, renewedAt: 1_700_000_000_000, released: false }

describe('decodeLease', () => {
  it('round-trips what encodeLease writes', () => {
    expect(decodeLease(encodeLease(good))).toEqual(good)
    expect(decodeLease(encodeLease({ ...good, released: true }))).toEqual({ ...good, released: true })
  })

  it.each([
    ['not JSON', 'garbage'],
    ['JSON null', null],
    ['an array', [1, 2]],
    ['no node', { ...good, node: undefined }],
    ['an empty node', { ...good, node: '' }],
    ['an epoch of 1e308', { ...good, epoch: 1e308 }],
    ['an epoch above 2^53', { ...good, epoch: 2 ** 53 }],
    ['a fractional epoch', { ...good, epoch: 1.5 }],
    ['a negative epoch', { ...good, epoch: -1 }],
    ['an epoch as text', { ...good, epoch: '7' }],
    ['no renewedAt', { ...good, renewedAt: undefined }],
    ['released as text', { ...good, released: 'true' }],
    ['no released', { ...good, released: undefined }],
  ])('refuses %s', (_what, v) => {
    expect(decodeLease(bytes(v))).toBeNull()
  })
})
