// A network namespace of the test's own with a veth pair: the host side gets .1, the namespace
// side (named eth0, as l2tpns expects) gets .2 of a /30. Removed again by destroy().
import { spawnSync } from 'node:child_process'

const sh = (args: string[]): void => {
  const r = spawnSync(args[0] as string, args.slice(1), { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr || r.stdout}`)
}

export interface Netns {
  readonly name: string
  readonly hostAddress: string
  readonly hostInterface: string
  readonly nsAddress: string
  readonly exec: (cmd: string[]) => string[]
  readonly destroy: () => void
}

export const createNetns = (subnet: number): Netns => {
  const tag = `${process.pid % 10000}${subnet}`
  const name = `l2tp-${tag}`
  const hostIf = `vh${tag}`.slice(0, 15)
  const tmpIf = `vn${tag}`.slice(0, 15)
  const hostAddress = `10.250.${subnet}.1`
  const nsAddress = `10.250.${subnet}.2`
  sh(['ip', 'netns', 'add', name])
  try {
    sh(['ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', tmpIf])
    sh(['ip', 'link', 'set', tmpIf, 'netns', name])
    sh(['ip', 'netns', 'exec', name, 'ip', 'link', 'set', tmpIf, 'name', 'eth0'])
    sh(['ip', 'addr', 'add', `${hostAddress}/30`, 'dev', hostIf])
    sh(['ip', 'link', 'set', hostIf, 'up'])
    sh(['ip', 'netns', 'exec', name, 'ip', 'addr', 'add', `${nsAddress}/30`, 'dev', 'eth0'])
    sh(['ip', 'netns', 'exec', name, 'ip', 'link', 'set', 'eth0', 'up'])
    sh(['ip', 'netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up'])
  } catch (e) {
    spawnSync('ip', ['netns', 'del', name])
    spawnSync('ip', ['link', 'del', hostIf])
    throw e
  }
  return {
    name,
    hostAddress,
    hostInterface: hostIf,
    nsAddress,
    exec: (cmd) => ['ip', 'netns', 'exec', name, ...cmd],
    destroy: () => {
      spawnSync('ip', ['link', 'del', hostIf])
      spawnSync('ip', ['netns', 'del', name])
    },
  }
}
