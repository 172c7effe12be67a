// What every journey needs: a Sésame of its own on SQLite, Debian's Chromium, and the checks
// run on every page (axe-core, reflow, console errors) with a screenshot.
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const binary = process.env.SESAME_BIN ?? path.join(here, "..", "target", "debug", "sesame");
const axeSource = fs.readFileSync(path.join(here, "node_modules", "axe-core", "axe.min.js"), "utf8");
export const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
export const screenshots = path.join(here, "screenshots");

export const PERSON = { uid: "e2e-1", staffNumber: "12345", birthDate: "14/07/1985", wrongBirthDate: "15/07/1985" };
/** Others, each for one journey: never activated, disabled by the help desk, guessed at. */
export const OTHERS = {
  inactive: { uid: "e2e-2", staffNumber: "22222", birthDate: "02/02/1992" },
  disabled: { uid: "e2e-3", staffNumber: "33333", birthDate: "03/03/1993" },
  guessed: { uid: "e2e-4", staffNumber: "44444", birthDate: "04/04/1994" },
};

/** The help desk every page that sends people to it shows. */
export const HELPDESK = { email: "assistance@univ-demo.example", phone: "03 27 51 12 34" };
const HELPDESK_ENV = { SESAME_HELPDESK_EMAIL: HELPDESK.email, SESAME_HELPDESK_PHONE: HELPDESK.phone };

/**
 * What the page's text breaks of its language's typography: in French an ordinary space before
 * ? ! ; : » or after « (the line may break there; a no-break space belongs there), in English
 * any space before ? ! ; :. Code and the list of special characters are not sentences.
 */
export function typographyFaults(lang) {
  const root = document.body.cloneNode(true);
  root.querySelectorAll("code, script, [data-rule=special]").forEach((n) => n.remove());
  const text = root.textContent.replace(/[ \t\r\n]+/g, " ");
  const fault = lang === "fr" ? /.{0,20}?(?: [?!;:»]|« )/g : /.{0,20}?[ \u00a0\u202f][?!;:]/g;
  return text.match(fault) ?? [];
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A `sesame serve` of its own: fresh SQLite database, one imported person, mail to a folder. */
export async function startSesame() {
  assert.ok(fs.existsSync(binary), `${binary} is missing: run cargo build first (or set SESAME_BIN)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sesame-e2e-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    DATABASE_URL: `sqlite://${dir}/sesame.db`,
    SESAME_PUBLIC_URL: url,
    SESAME_COOKIE_SECURE: "false",
    SESAME_MAIL_DIR: path.join(dir, "mail"),
    SESAME_INSTITUTION_NAME: "Université de Démonstration",
    SESAME_LOGO_FILE: path.join(here, "fixtures", "logo.svg"),
    ...HELPDESK_ENV,
    RUST_LOG: "warn",
  };
  const csv = path.join(dir, "people.csv");
  fs.writeFileSync(
    csv,
    "uid,category,given_name,family_name,birth_date,staff_number\n" +
      [PERSON, ...Object.values(OTHERS)]
        .map((p) => `${p.uid},staff,Camille,Durand-${p.uid},${p.birthDate},${p.staffNumber}\n`)
        .join(""),
  );
  execFileSync(binary, ["import", csv], { env, stdio: "pipe" });
  const child = spawn(binary, ["serve", "--bind", `127.0.0.1:${port}`], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stderr.on("data", (chunk) => (output += chunk));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sesame did not start:\n${output}`)), 30_000);
    child.stdout.on("data", (chunk) => {
      output += chunk;
      if (output.includes("listening")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`sesame exited with ${code}:\n${output}`)));
  });
  return {
    url,
    mailDir: env.SESAME_MAIL_DIR,
    /** The help-desk commands, on the same database. */
    cli: (...args) => execFileSync(binary, args, { env, stdio: "pipe" }).toString(),
    async stop() {
      child.kill("SIGTERM");
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", resolve)));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium; Playwright gives each launch a fresh, empty profile of its own. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * One way of browsing (language, width, JavaScript) and the checks of each page seen that way.
 * With JavaScript off, axe-core cannot run in the page itself (it needs timers), so the page's
 * HTML is replayed at the same address in a second context where scripts run but ours are
 * blocked: the same document, the same stylesheet, no enhancement.
 */
export class Visit {
  constructor(browser, { lang, width, js }) {
    Object.assign(this, { browser, lang, width, js });
    this.name = `${lang}-${width}-js-${js ? "on" : "off"}`;
    this.shots = 0;
    this.consoleErrors = [];
  }

  async open() {
    const options = { locale: this.lang === "fr" ? "fr-FR" : "en-GB", viewport: { width: this.width, height: 800 } };
    this.context = await this.browser.newContext({ ...options, javaScriptEnabled: this.js });
    this.page = await this.context.newPage();
    // A refused post (422), a 403 or a 404 is the document's own status, checked by the journeys;
    // any other failure (a missing asset, a script error, a CSP refusal) is a defect.
    this.page.on("console", (m) => {
      const own = m.location().url === this.page.url() && m.text().startsWith("Failed to load resource");
      if (m.type() === "error" && !own) this.consoleErrors.push(`${m.text()} (${m.location().url})`);
    });
    this.page.on("pageerror", (e) => this.consoleErrors.push(String(e)));
    if (!this.js) {
      this.checker = await this.browser.newContext(options);
    }
    fs.rmSync(path.join(screenshots, this.name), { recursive: true, force: true });
    fs.mkdirSync(path.join(screenshots, this.name), { recursive: true });
    return this.page;
  }

  async close() {
    await this.context?.close();
    await this.checker?.close();
  }

  /** axe-core (zero violations), no horizontal scrolling, no console error, and a screenshot. */
  async check(label) {
    const page = this.page;
    await page.waitForLoadState("load");
    const where = `${label} (${page.url()}, ${this.name})`;
    const violations = await this.axe();
    assert.deepEqual(violations, [], `accessibility violations on ${where}:\n${JSON.stringify(violations, null, 2)}`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `${where} scrolls sideways by ${overflow}px`);
    const errors = this.consoleErrors.splice(0);
    assert.deepEqual(errors, [], `console errors on ${where}`);
    assert.deepEqual(await page.evaluate(typographyFaults, this.lang), [], `typography of ${where}`);
    this.shots += 1;
    const file = `${String(this.shots).padStart(2, "0")}-${label.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}.png`;
    await page.screenshot({ path: path.join(screenshots, this.name, file), fullPage: true });
  }

  async axe() {
    let target = this.page;
    if (!this.js) {
      const html = await this.page.content();
      const url = this.page.url();
      target = await this.checker.newPage();
      await target.route("**/*", (route) => {
        const request = route.request();
        if (request.resourceType() === "document") {
          return route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body: html });
        }
        return request.resourceType() === "script" ? route.abort() : route.continue();
      });
      await target.goto(url);
    }
    try {
      await target.evaluate(axeSource);
      const results = await target.evaluate(
        (tags) => axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] }),
        TAGS,
      );
      return results.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => n.target.join(" ")),
      }));
    } finally {
      if (target !== this.page) await target.close();
    }
  }
}
