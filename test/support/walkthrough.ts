// The walkthrough of README.md as a script: every ```bash block right after a
// `<!-- walkthrough -->` line, in order. Pure.

export const walkthroughScript = (readme: string): string => {
  const lines = readme.split('\n')
  const blocks: string[] = []
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]?.trim() !== '<!-- walkthrough -->' || lines[i + 1]?.trim() !== '```bash') continue
    const end = lines.indexOf('```', i + 2)
    if (end < 0) throw new Error(`walkthrough block at line ${i + 1} is not closed`)
    blocks.push(lines.slice(i + 2, end).join('\n'))
    i = end
  }
  return blocks.join('\n')
}
