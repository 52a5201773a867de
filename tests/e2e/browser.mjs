// tests/e2e/browser.mjs — headless Chromium for the browser tests: Debian's
// /usr/bin/chromium (make deps installs it) driven by playwright-core,
// which brings no browser of its own. CHROMIUM overrides the path.
import { chromium } from 'playwright-core'
import { existsSync } from 'node:fs'

export const executablePath = process.env.CHROMIUM || '/usr/bin/chromium'

export async function launch(args = []) {
  if (!existsSync(executablePath))
    throw new Error(`no Chromium at ${executablePath} (install it with 'make deps')`)
  // --no-sandbox: the tests run as root in CI, where Chromium's sandbox
  // refuses to start.
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', ...args] })
}

// Poll fn() until it returns a truthy value; the last value otherwise
// after `tries` rounds of `ms` (a bound, not a timing assertion).
export async function until(fn, { tries = 600, ms = 100 } = {}) {
  let v
  for (let i = 0; i < tries; i++) {
    v = await fn()
    if (v) return v
    await new Promise((r) => setTimeout(r, ms))
  }
  return v
}
