// A compact binary form of io-ts record codecs, compiled once from the codecs themselves (the
// io-ts codecs stay the one source of truth): fields are written in the codec's property
// order, so a codec's props order is part of the wire format (pinned by a golden test).
// The decoder checks every value with the codec's own predicates as it reads (ranges, names,
// enums), so a decoded value is one the io-ts codec accepts. Pure.
import * as t from 'io-ts'

/** Thrown inside a decode only; the caller turns it into a ContractError. */
export class BinaryFault extends Error {}

export class Writer {
  buf = Buffer.allocUnsafe(256)
  pos = 0
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n))
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }
  byte(b: number): void {
    this.room(1)
    this.buf[this.pos++] = b
  }
  /** Unsigned varint of a safe non-negative integer (7 bits a byte, little end first). */
  uvarint(n: number): void {
    this.room(8)
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80
      n = Math.floor(n / 0x80)
    }
    this.buf[this.pos++] = n
  }
  string(s: string): void {
    const n = Buffer.byteLength(s, 'utf8')
    this.uvarint(n)
    this.room(n)
    this.pos += this.buf.write(s, this.pos, 'utf8')
  }
  bytes(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos))
  }
}

export class Reader {
  pos: number
  constructor(
    readonly buf: Buffer,
    start: number,
  ) {
    this.pos = start
  }
  byte(): number {
    if (this.pos >= this.buf.length) throw new BinaryFault('record ends early')
    return this.buf[this.pos++] as number
  }
  uvarint(): number {
    const buf = this.buf
    const pos = this.pos
    // One or two bytes (ids, counts, lengths, small ints) without the general loop.
    if (pos + 1 < buf.length) {
      const b0 = buf[pos] as number
      if (b0 < 0x80) {
        this.pos = pos + 1
        return b0
      }
      const b1 = buf[pos + 1] as number
      if (b1 < 0x80) {
        this.pos = pos + 2
        return (b0 & 0x7f) | (b1 << 7)
      }
    }
    let n = 0
    let mul = 1
    for (let i = 0; i < 8; i++) {
      const b = this.byte()
      n += (b & 0x7f) * mul
      if (b < 0x80) return n
      mul *= 0x80
    }
    throw new BinaryFault('varint longer than 8 bytes')
  }
  bool(): boolean {
    const b = this.byte()
    if (b > 1) throw new BinaryFault('boolean byte is not 0 or 1')
    return b === 1
  }
  /** The presence byte of a nullable value. */
  present(): boolean {
    const b = this.byte()
    if (b > 1) throw new BinaryFault('presence byte is not 0 or 1')
    return b === 1
  }
  array<E, F, U>(item: (r: Reader, e: E, f: F, u: U) => unknown, e: E, f: F, u: U): unknown[] {
    const n = this.uvarint()
    if (n > this.buf.length - this.pos) throw new BinaryFault('array longer than the record')
    const out: unknown[] = []
    for (let i = 0; i < n; i++) out.push(item(this, e, f, u))
    return out
  }
  /**
   * A string that often repeats at one place of a record (endpoint and node ids, host names):
   * equal bytes give the string read last time there, already checked by `predicate`.
   */
  cachedString(cache: StringCache, predicate: ((s: string) => boolean) | null, name: string): string {
    const buf = this.buf
    const start = this.pos
    const n = buf[start]
    if (n !== undefined && n < 0x80 && n === cache.bytes.length && start + 1 + n <= buf.length) {
      const c = cache.bytes
      let i = 0
      while (i < n && buf[start + 1 + i] === c[i]) i++
      if (i === n) {
        this.pos = start + 1 + n
        return cache.value
      }
    }
    const s = this.string()
    if (predicate !== null && !predicate(s)) throw new BinaryFault(`expected ${name}`)
    if (this.pos - start <= 65) {
      cache.bytes = Buffer.from(buf.subarray(start + 1, this.pos))
      cache.value = s
    }
    return s
  }
  string(): string {
    const n = this.uvarint()
    const end = this.pos + n
    if (end > this.buf.length) throw new BinaryFault('string runs past the record')
    const buf = this.buf
    let s = ''
    if (n <= 24) {
      // Short ASCII strings (ids, enums, host names) without a native call.
      for (let i = this.pos; i < end; i++) {
        const c = buf[i] as number
        if (c >= 0x80) {
          s = buf.toString('utf8', this.pos, end)
          break
        }
        s += String.fromCharCode(c)
      }
    } else s = buf.toString('utf8', this.pos, end)
    this.pos = end
    return s
  }
}

export interface StringCache {
  bytes: Buffer
  value: string
}

/**
 * How one codec's values are written, and read back unchecked (no predicate runs: the slow path
 * of a bad record, which then hands the value to io-ts; the checked reader is `compileReader`).
 */
export interface Part {
  readonly write: (w: Writer, v: unknown) => void
  readonly read: (r: Reader) => unknown
}

/** Not representable in binary (the caller writes JSON instead). */
export class Unrepresentable extends Error {}

const zig = (n: number): number => (n >= 0 ? n * 2 : -n * 2 - 1)
const unzig = (z: number): number => (z % 2 === 0 ? z / 2 : -(z + 1) / 2)

const intPart: Part = {
  write: (w, v) => {
    // |v| < 2^52 keeps the zigzag form exact in a double (larger ones are written as JSON).
    if (typeof v !== 'number' || !Number.isInteger(v) || Math.abs(v) >= 2 ** 52) {
      throw new Unrepresentable('not an integer below 2^52')
    }
    w.uvarint(zig(v))
  },
  read: (r) => unzig(r.uvarint()),
}

const stringPart: Part = {
  write: (w, v) => {
    if (typeof v !== 'string') throw new Unrepresentable('not a string')
    w.string(v)
  },
  read: (r) => r.string(),
}

const booleanPart: Part = {
  write: (w, v) => {
    if (typeof v !== 'boolean') throw new Unrepresentable('not a boolean')
    w.byte(v ? 1 : 0)
  },
  read: (r) => r.bool(),
}

/** A literal (the event's `type` and `v`) is known from the header: nothing is written. */
const literalPart = (value: unknown): Part => ({
  write: (_w, v) => {
    if (v !== value) throw new Unrepresentable(`not ${String(value)}`)
  },
  read: () => value,
})

const keyofPart = (keys: readonly string[]): Part => ({
  write: (w, v) => {
    const i = typeof v === 'string' ? keys.indexOf(v) : -1
    if (i < 0) throw new Unrepresentable('not one of the keys')
    w.byte(i)
  },
  read: (r) => {
    const k = keys[r.byte()]
    if (k === undefined) throw new BinaryFault('enum index out of range')
    return k
  },
})

const nullablePart = (inner: Part): Part => ({
  write: (w, v) => {
    if (v === null) w.byte(0)
    else {
      w.byte(1)
      inner.write(w, v)
    }
  },
  read: (r) => (r.present() ? inner.read(r) : null),
})

const arrayPart = (inner: Part): Part => ({
  write: (w, v) => {
    if (!Array.isArray(v)) throw new Unrepresentable('not an array')
    w.uvarint(v.length)
    for (const x of v) inner.write(w, x)
  },
  read: (r) => r.array(inner.read, null, null, null),
})

/** The fields of a t.type, in order; literal fields are not written (the caller knows them). */
export const objectPart = (props: t.Props): Part => {
  const names = Object.keys(props)
  const parts = names.map((k) => partOf(props[k] as t.Mixed))
  const n = names.length
  return {
    write: (w, v) => {
      if (typeof v !== 'object' || v === null) throw new Unrepresentable('not an object')
      const o = v as Record<string, unknown>
      for (let i = 0; i < n; i++) (parts[i] as Part).write(w, o[names[i] as string])
    },
    read: (r) => {
      const o: Record<string, unknown> = {}
      for (let i = 0; i < n; i++) o[names[i] as string] = (parts[i] as Part).read(r)
      return o
    },
  }
}

/** The optional fields of a t.partial, in order: a presence byte each (absent: 0). */
const partialPart = (props: t.Props): Part => {
  const names = Object.keys(props)
  const parts = names.map((k) => partOf(props[k] as t.Mixed))
  return {
    write: (w, v) => {
      const o = v as Record<string, unknown>
      for (let i = 0; i < names.length; i++) {
        const x = o[names[i] as string]
        if (x === undefined) w.byte(0)
        else {
          w.byte(1)
          ;(parts[i] as Part).write(w, x)
        }
      }
    },
    read: (r) => {
      const o: Record<string, unknown> = {}
      for (let i = 0; i < names.length; i++)
        if (r.present()) o[names[i] as string] = (parts[i] as Part).read(r)
      return o
    },
  }
}

/** t.intersection of t.type and t.partial members (snapshot views): their fields one after the other. */
const intersectionPart = (types: readonly t.Mixed[]): Part => {
  const parts = types.map((c) => {
    if (c instanceof t.InterfaceType) return objectPart(c.props)
    if (c instanceof t.PartialType) return partialPart(c.props)
    throw new Error(`no binary form for intersection member ${c.name}`)
  })
  return {
    write: (w, v) => {
      if (typeof v !== 'object' || v === null) throw new Unrepresentable('not an object')
      for (const p of parts) p.write(w, v)
    },
    read: (r) => Object.assign({}, ...parts.map((p) => p.read(r))),
  }
}

/** Compiles an io-ts codec into its binary part; throws for shapes events never use. */
export const partOf = (c: t.Mixed): Part => {
  if (c instanceof t.RefinementType) {
    // t.Int (a brand of number) is an integer; other refinements read as their base here.
    return c.name === 'Int' ? intPart : partOf(c.type)
  }
  if (c instanceof t.LiteralType) return literalPart(c.value)
  if (c instanceof t.StringType) return stringPart
  if (c instanceof t.BooleanType) return booleanPart
  if (c instanceof t.KeyofType) return keyofPart(Object.keys(c.keys))
  if (c instanceof t.InterfaceType) return objectPart(c.props)
  if (c instanceof t.IntersectionType) return intersectionPart(c.types as readonly t.Mixed[])
  if (c instanceof t.ArrayType) return arrayPart(partOf(c.type))
  if (c instanceof t.UnionType) {
    const types = c.types as readonly t.Mixed[]
    const other = types.filter((x) => !(x instanceof t.NullType))
    if (types.length === 2 && other.length === 1) return nullablePart(partOf(other[0] as t.Mixed))
  }
  throw new Error(`no binary form for codec ${c.name}`)
}

/**
 * The checked reader of a t.type, generated as straight-line code (one object literal, fields
 * in props order, the codec's predicates inlined) so that V8 sees one shape per event type.
 * Reads the bytes `objectPart(props)` writes; its equivalence with io-ts is property-tested.
 */
export const compileReader = (props: t.Props | t.Mixed): ((r: Reader) => Record<string, unknown>) => {
  const env: unknown[] = []
  const ref = (x: unknown): string => {
    env.push(x)
    return `e[${env.length - 1}]`
  }
  const fail = (what: string) => `f(${JSON.stringify(what)})`
  const expr = (c: t.Mixed): string => {
    if (c instanceof t.RefinementType) {
      if (c.name === 'Int') return 'u(r.uvarint())'
      if (c.type instanceof t.StringType) {
        return `r.cachedString(${ref({ bytes: Buffer.alloc(0), value: '' })}, ${ref(c.predicate)}, ${JSON.stringify(c.name)})`
      }
      return `(v = ${expr(c.type)}, ${ref(c.predicate)}(v) ? v : ${fail(`expected ${c.name}`)})`
    }
    if (c instanceof t.LiteralType) return JSON.stringify(c.value)
    if (c instanceof t.StringType)
      return `r.cachedString(${ref({ bytes: Buffer.alloc(0), value: '' })}, null, '')`
    if (c instanceof t.BooleanType) return 'r.bool()'
    if (c instanceof t.KeyofType)
      return `(${ref(Object.keys(c.keys))}[r.byte()] ?? ${fail('enum index out of range')})`
    if (c instanceof t.InterfaceType) {
      const fields = Object.keys(c.props).map((k) => `${JSON.stringify(k)}: ${expr(c.props[k] as t.Mixed)}`)
      return `({ ${fields.join(', ')} })`
    }
    if (c instanceof t.IntersectionType) {
      // Required fields, then the optional ones (a presence byte each), in one object literal.
      const fields: string[] = []
      for (const m of c.types as readonly t.Mixed[]) {
        if (m instanceof t.InterfaceType)
          for (const k of Object.keys(m.props))
            fields.push(`${JSON.stringify(k)}: ${expr(m.props[k] as t.Mixed)}`)
        else if (m instanceof t.PartialType)
          for (const k of Object.keys(m.props))
            fields.push(`...(r.present() ? { ${JSON.stringify(k)}: ${expr(m.props[k] as t.Mixed)} } : {})`)
        else throw new Error(`no binary form for intersection member ${m.name}`)
      }
      return `({ ${fields.join(', ')} })`
    }
    if (c instanceof t.ArrayType) {
      const item = new Function('r', 'e', 'f', 'u', `let v; return ${expr(c.type)}`)
      return `r.array(${ref(item)}, e, f, u)`
    }
    if (c instanceof t.UnionType) {
      const types = c.types as readonly t.Mixed[]
      const other = types.filter((x) => !(x instanceof t.NullType))
      if (types.length === 2 && other.length === 1)
        return `(r.present() ? ${expr(other[0] as t.Mixed)} : null)`
    }
    throw new Error(`no binary form for codec ${c.name}`)
  }
  const root = props instanceof t.Type ? (props as t.Mixed) : t.type(props as t.Props)
  const body = `let v; return ${expr(root)}`
  const f = new Function('r', 'e', 'f', 'u', body) as (
    r: Reader,
    e: unknown[],
    f: (what: string) => never,
    u: (z: number) => number,
  ) => Record<string, unknown>
  const thrower = (what: string): never => {
    throw new BinaryFault(what)
  }
  return (r) => f(r, env, thrower, unzig)
}

/**
 * The writer of a codec generated as straight-line code (property reads by name, so V8 sees one
 * shape per record kind): writes exactly the bytes `partOf(c).write` writes (tested), faster.
 */
export const compileWriter = (c: t.Mixed): ((w: Writer, v: unknown) => void) => {
  const env: unknown[] = []
  const ref = (x: unknown): string => {
    env.push(x)
    return `e[${env.length - 1}]`
  }
  let vars = 0
  const bad = (what: string) => `b(${JSON.stringify(what)})`
  const stmt = (c: t.Mixed, x: string): string => {
    if (c instanceof t.RefinementType) {
      if (c.name === 'Int')
        return `if (typeof ${x} !== 'number' || !Number.isInteger(${x}) || Math.abs(${x}) >= 4503599627370496) ${bad('not an integer below 2^52')}; w.uvarint(${x} >= 0 ? ${x} * 2 : -${x} * 2 - 1);`
      return stmt(c.type, x)
    }
    if (c instanceof t.LiteralType)
      return `if (${x} !== ${JSON.stringify(c.value)}) ${bad(`not ${String(c.value)}`)};`
    if (c instanceof t.StringType)
      return `if (typeof ${x} !== 'string') ${bad('not a string')}; w.string(${x});`
    if (c instanceof t.BooleanType)
      return `if (typeof ${x} !== 'boolean') ${bad('not a boolean')}; w.byte(${x} ? 1 : 0);`
    if (c instanceof t.KeyofType) {
      const index = new Map(Object.keys(c.keys).map((k, i) => [k, i]))
      return `{ const i = ${ref(index)}.get(${x}); if (i === undefined) ${bad('not one of the keys')}; w.byte(i); }`
    }
    if (c instanceof t.InterfaceType || c instanceof t.IntersectionType) {
      const o = `o${vars++}`
      const members = c instanceof t.InterfaceType ? [c] : (c.types as readonly t.Mixed[])
      const body = members.map((m) => {
        if (m instanceof t.InterfaceType)
          return Object.keys(m.props)
            .map((k) => stmt(m.props[k] as t.Mixed, `${o}[${JSON.stringify(k)}]`))
            .join('\n')
        if (m instanceof t.PartialType)
          return Object.keys(m.props)
            .map((k) => {
              const f = `${o}[${JSON.stringify(k)}]`
              return `if (${f} === undefined) w.byte(0); else { w.byte(1); ${stmt(m.props[k] as t.Mixed, f)} }`
            })
            .join('\n')
        throw new Error(`no binary form for intersection member ${m.name}`)
      })
      return `{ const ${o} = ${x}; if (typeof ${o} !== 'object' || ${o} === null) ${bad('not an object')};\n${body.join('\n')} }`
    }
    if (c instanceof t.ArrayType) {
      const a = `a${vars++}`
      const i = `i${vars++}`
      return `{ const ${a} = ${x}; if (!Array.isArray(${a})) ${bad('not an array')}; w.uvarint(${a}.length); for (let ${i} = 0; ${i} < ${a}.length; ${i}++) { ${stmt(c.type, `${a}[${i}]`)} } }`
    }
    if (c instanceof t.UnionType) {
      const types = c.types as readonly t.Mixed[]
      const other = types.filter((y) => !(y instanceof t.NullType))
      if (types.length === 2 && other.length === 1)
        return `if (${x} === null) w.byte(0); else { w.byte(1); ${stmt(other[0] as t.Mixed, x)} }`
    }
    throw new Error(`no binary form for codec ${c.name}`)
  }
  const f = new Function('w', 'v', 'e', 'b', stmt(c, 'v')) as (
    w: Writer,
    v: unknown,
    e: unknown[],
    b: (what: string) => never,
  ) => void
  const thrower = (what: string): never => {
    throw new Unrepresentable(what)
  }
  return (w, v) => f(w, v, env, thrower)
}
