// Every journey in real Chromium, in French and English, 1280 and 360 px wide, with JavaScript
// on and off; axe-core and the other page checks run on every page and every error state.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { HELPDESK, OTHERS, PERSON, Visit, launchBrowser, startSesame, typographyFaults } from "./support.mjs";

const PASSWORDS = { activation: "Vélo-Rouge-Lune-42", recovered: "Orage-Bleu-Matin-73", changed: "Plume-Verte-Soir-58" };
const ANSWER = "Crème Brûlée";
const PHONE = { width: 360, height: 740 };
const WAYS = ["fr", "en"].flatMap((lang) =>
  [1280, 360].flatMap((width) => [true, false].map((js) => ({ lang, width, js }))),
);

const browser = await launchBrowser();
after(() => browser.close());

for (const way of WAYS) {
  describe(`${way.lang}, ${way.width} px, JavaScript ${way.js ? "on" : "off"}`, () => {
    let sesame, visit, page, login;
    const go = (path) => page.goto(sesame.url + path);
    const submit = () => Promise.all([page.waitForNavigation(), page.click("main button[type=submit]")]);
    const at = async (path) => {
      const shown = await page.textContent("main");
      assert.equal(new URL(page.url()).pathname, path, `expected ${path}, the page says: ${shown.replace(/\s+/g, " ")}`);
    };

    /** Fills the fields (selector → value), then posts the form. */
    const send = async (fields) => {
      for (const [selector, value] of Object.entries(fields)) await page.fill(selector, value);
      await submit();
    };
    const identify = (birthDate, person = PERSON) =>
      send({ "#identifier": person.staffNumber, "#birth_date": birthDate });

    /** On a phone, the step's first field shows without scrolling. */
    async function firstFieldVisible(selector) {
      if (way.width !== PHONE.width) return;
      const box = await page.locator(selector).first().boundingBox();
      assert.ok(box && box.y + box.height <= PHONE.height, `${selector} below the fold of ${page.url()}: ${JSON.stringify(box)}`);
    }
    const fr = way.lang === "fr";
    /** The header's menu, unfolded on a phone first; its sign-out button or a link. */
    async function openMenu() {
      if (way.width !== PHONE.width) return "nav.menu-wide";
      if ((await page.getAttribute(".menu-narrow", "open")) === null) await page.click(".menu-narrow > summary");
      return ".menu-narrow nav";
    }

    /** A refused post: an error summary, the fields marked, and (with JavaScript) the focus on the summary. */
    async function refused(label) {
      await page.waitForSelector("#error-summary");
      const marked = await page.locator("[aria-invalid=true], fieldset.invalid").count();
      assert.ok(marked > 0, `${label}: a field is marked invalid`);
      if (way.js) {
        await page.waitForFunction(() => document.activeElement?.id === "error-summary");
      }
      await visit.check(label);
    }

    before(async () => {
      sesame = await startSesame();
      visit = new Visit(browser, way);
      page = await visit.open();
      if (way.width === PHONE.width) await page.setViewportSize(PHONE);
    });
    after(async () => {
      await visit?.close();
      await sesame?.stop();
    });

    it("shows the home, help, rules and not-found pages in the asked language", async () => {
      await go("/");
      assert.equal(await page.getAttribute("html", "lang"), way.lang);
      assert.ok(await page.isVisible("header.site img.logo"), "the institution's logo");
      assert.match(await page.textContent("header.site .institution"), /Université de Démonstration/);
      await visit.check("home");
      await go("/help");
      await visit.check("help");
      // On a phone the menu is folded behind a button that works without JavaScript.
      if (way.width === PHONE.width) {
        assert.ok(!(await page.isVisible("nav.menu-wide")), "no wide menu on a phone");
        assert.ok(!(await page.isVisible(".menu-narrow nav a[href='/recover']")), "folded");
        await openMenu();
        assert.ok(await page.isVisible(".menu-narrow nav a[href='/recover']"), "unfolded");
        await visit.check("help, menu unfolded");
        await page.click(".menu-narrow > summary");
        assert.ok(!(await page.isVisible(".menu-narrow nav a[href='/recover']")), "folded again");
      } else {
        assert.ok(await page.isVisible("nav.menu-wide a[href='/recover']"));
        assert.ok(!(await page.isVisible(".menu-narrow")));
      }
      assert.ok(await page.locator("footer a[href='/help']").count(), "the footer's help link");
      assert.match(await page.textContent("footer"), new RegExp(HELPDESK.email.replace(/\./g, "\\.")));
      await go("/rules");
      await visit.check("rules");
      await go("/recover");
      const recover = await page.textContent("main");
      assert.match(recover, fr ? /récupérer vos identifiants/ : /recover your credentials/);
      assert.doesNotMatch(recover, fr ? /activer votre compte/ : /activate your account/);
      // The language switch keeps the step and its method; the title names the step.
      await go("/activate/identify?method=uid");
      const other = fr ? "en" : "fr";
      assert.equal(await page.getAttribute("header a.lang", "href"), `/activate/identify?method=uid&lang=${other}`);
      assert.ok((await page.title()).startsWith((await page.textContent("h1")).trim()), await page.title());
      await openMenu(); // on a phone, the switch is in the menu
      await Promise.all([page.waitForNavigation(), page.click("header a.lang:visible")]);
      assert.equal(await page.getAttribute("html", "lang"), other);
      assert.equal(new URL(page.url()).searchParams.get("method"), "uid");
      assert.equal(await page.locator("#identifier").count(), 1, "the same step");
      await go(`/?lang=${way.lang}`);
      const missing = await go("/nowhere");
      assert.equal(missing.status(), 404);
      await visit.check("not found");
      // JavaScript really is on or off.
      await go("/login");
      assert.equal(await page.locator(".password-toggle").count(), way.js ? 1 : 0);
    });

    it("would notice an inaccessible page (the checks can fail)", async () => {
      const broken = "<!DOCTYPE html><html><head><title>x</title></head><body><main><input id=x></main></body></html>";
      await page.route("**/e2e-broken", (route) => route.fulfill({ contentType: "text/html", body: broken }));
      await go("/e2e-broken");
      const found = (await visit.axe()).map((v) => v.id);
      assert.ok(found.includes("html-has-lang") && found.includes("label"), `found: ${found}`);
      if (way.js) {
        await page.setContent("<p>Besoin d’aide ? Cliquez sur « Valider ».</p>");
        assert.equal((await page.evaluate(typographyFaults, "fr")).length, 3, "French spaces that break");
        await page.setContent("<p>Help ? Progress : 20%; yes ; no !</p>");
        assert.equal((await page.evaluate(typographyFaults, "en")).length, 4, "French spacing in English");
      }
      await page.unroute("**/e2e-broken");
    });

    it("activates an account through every step and every refusal", async () => {
      await go("/activate");
      await visit.check("activate choose");
      await Promise.all([page.waitForNavigation(), page.click("a[href$='method=staff_number']")]);
      await visit.check("activate identify");
      await firstFieldVisible("#identifier");

      await submit();
      await refused("activate identify empty");
      await identify(PERSON.wrongBirthDate);
      await refused("activate identify unknown");
      // Either field may be wrong: the one message is tied to both, and the summary leads there.
      for (const field of ["#identifier", "#birth_date"]) {
        assert.equal(await page.getAttribute(field, "aria-invalid"), "true", field);
        assert.match(await page.getAttribute(field, "aria-describedby"), /\bidentification-error\b/, field);
      }
      await page.click("#error-summary a[href='#identification']");
      if (way.js) await page.waitForFunction(() => document.activeElement?.id === "identifier");
      await identify(PERSON.birthDate);
      await at("/activate/question");
      await visit.check("activate question");
      await firstFieldVisible("#question");
      // One's own question only once "write my own" is chosen (without JavaScript, always).
      assert.equal(await page.isVisible("#custom_question"), !way.js);
      if (way.js) {
        await page.selectOption("#question", "custom");
        assert.ok(await page.isVisible("#custom_question"));
        await page.selectOption("#question", { index: 1 });
        assert.ok(!(await page.isVisible("#custom_question")));
        await page.selectOption("#question", { index: 0 });
      }

      await submit();
      await refused("activate question missing");
      await page.selectOption("#question", { index: 1 });
      await page.fill("#answer", ANSWER);
      await submit();
      await at("/activate/sms");
      await visit.check("activate sms");
      await firstFieldVisible("input[name=sms_consent]");
      assert.ok(await page.isVisible("main .hint a[href='/account/preferences']"), "changing one's mind later");
      // The phone only once SMS are accepted (without JavaScript, always).
      assert.equal(await page.isVisible("#phone"), !way.js);
      if (way.js) {
        await page.check("input[name=sms_consent][value=no]");
        assert.ok(!(await page.isVisible("#phone")));
      }

      await page.check("input[name=sms_consent][value=yes]");
      await submit();
      await refused("activate sms without phone");
      await page.check("input[name=sms_consent][value=yes]");
      await page.fill("#phone", "06 12 34 56 78");
      await submit();
      await at("/activate/photo");
      await visit.check("activate photo");
      await firstFieldVisible("input[name=photo_consent]");

      await submit();
      await refused("activate photo missing");
      await page.check("input[name=photo_consent][value=no]");
      await submit();
      await at("/activate/password");
      await visit.check("activate password");
      await firstFieldVisible("#password");
      assert.match(await page.textContent("main .checkbox .hint"), fr ? /Nous vous invitons fortement à le consulter/ : /strongly encourage/);
      assert.equal(await page.locator("main .checkbox .hint a[href='/rules']").count(), 1);

      if (way.js) {
        await page.fill("#password", "abc");
        await page.waitForSelector("li[data-rule=length].unmet");
        assert.ok(await page.isVisible("li[data-rule=lowercase].met"), "a met rule is ticked");
        assert.ok(await page.isVisible("li[data-rule=digit].unmet"));
        await page.fill("#password", PASSWORDS.activation);
        assert.equal(await page.locator("li[data-rule].unmet").count(), 0, "every checkable rule met");
        assert.ok(await page.isVisible("li[data-rule=strength].later"), "the strength is checked on submission");
        await page.click("button.password-toggle[aria-controls=password]");
        assert.equal(await page.getAttribute("#password", "type"), "text");
        await visit.check("activate password shown");
        await page.click("button.password-toggle[aria-controls=password]");
        assert.equal(await page.getAttribute("#password", "type"), "password");
      }
      await send({ "#password": "motdepasse", "#password_confirm": "autre chose" });
      await refused("activate password refused");
      // The field is empty again; the checklist shows where the refused password stood.
      for (const [rule, state] of [["length", "unmet"], ["lowercase", "met"], ["uppercase", "unmet"], ["no_whitespace", "met"]]) {
        assert.equal(await page.locator(`li[data-rule=${rule}].${state}`).count(), 1, `${rule} ${state}`);
      }
      await page.fill("#password", PASSWORDS.activation);
      await page.fill("#password_confirm", PASSWORDS.activation);
      await page.check("#accept_rules");
      await submit();
      await at("/activate/done");
      login = (await page.textContent("dl.summary dd")).trim();
      assert.ok(login.length > 0, "the login is shown");
      await visit.check("activate done");

      // The confirmation mail is written (no SMTP here).
      for (let i = 0; i < 50 && !(fs.existsSync(sesame.mailDir) && fs.readdirSync(sesame.mailDir).length); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const mails = fs.readdirSync(sesame.mailDir).map((f) => fs.readFileSync(path.join(sesame.mailDir, f), "utf8"));
      assert.equal(mails.length, 1);
      assert.ok(mails[0].includes(login), "the mail gives the login");
    });

    it("tells an activated person so", async () => {
      await go("/activate/identify?method=staff_number");
      await identify(PERSON.birthDate);
      await visit.check("activate already");
      assert.match(await page.textContent("main"), new RegExp(HELPDESK.email.replace(/\./g, "\\.")));
    });

    it("recovers forgotten credentials with the security answer", async () => {
      await go("/recover");
      await visit.check("recover choose");
      await Promise.all([page.waitForNavigation(), page.click("a[href$='method=staff_number']")]);
      await submit();
      await refused("recover identify empty");
      await identify(PERSON.birthDate);
      await at("/recover/question");
      await visit.check("recover question");
      await page.fill("#answer", "tarte tatin");
      await submit();
      await refused("recover answer wrong");
      await page.fill("#answer", ANSWER.toUpperCase());
      await submit();
      await at("/recover/password");
      await visit.check("recover password");
      await send({ "#password": PASSWORDS.recovered, "#password_confirm": PASSWORDS.activation });
      await refused("recover password mismatch");
      await send({ "#password": PASSWORDS.recovered, "#password_confirm": PASSWORDS.recovered });
      await at("/recover/done");
      await visit.check("recover done");
    });

    it("signs in and changes password, question and preferences", async () => {
      await go("/login");
      await visit.check("login");
      await send({ "#login": login, "#password": PASSWORDS.activation });
      await refused("login refused");
      await send({ "#login": login, "#password": PASSWORDS.recovered });
      await at("/account");
      await visit.check("account");
      // Signed in, the menu offers the account and signing out, not signing in.
      assert.equal(await page.locator("header a[href='/login']").count(), 0);
      assert.ok(await page.locator("header a[href='/account']").count());
      assert.ok(await page.locator("header form.logout button").count());

      await go("/account/password");
      await visit.check("account password");
      const change = { "#password": PASSWORDS.changed, "#password_confirm": PASSWORDS.changed };
      await send({ "#current_password": PASSWORDS.activation, ...change });
      await refused("account password refused");
      await send({ "#current_password": PASSWORDS.recovered, ...change });
      await at("/account");
      await visit.check("account password changed");

      await go("/account/question");
      await visit.check("account question");
      await page.selectOption("#question", "custom");
      await page.fill("#answer", "Brest");
      await page.fill("#current_password", PASSWORDS.changed);
      await submit();
      await refused("account question refused");
      await page.selectOption("#question", { index: 2 });
      await page.fill("#answer", "Brest");
      await page.fill("#current_password", PASSWORDS.changed);
      await submit();
      await at("/account");

      await go("/account/preferences");
      await visit.check("account preferences");
      await page.check("input[name=sms_consent][value=yes]");
      await page.fill("#phone", "");
      await submit();
      await refused("account preferences refused");
      await page.check("input[name=sms_consent][value=no]");
      await page.check("input[name=photo_consent][value=yes]");
      await page.check("input[name=directory_visible][value=yes]");
      await submit();
      await at("/account");
      await visit.check("account preferences saved");

      // Signing out from the header's menu.
      const menu = await openMenu();
      await Promise.all([page.waitForNavigation(), page.click(`${menu} form.logout button`)]);
      await at("/login");
      assert.match(await page.textContent("main .success"), fr ? /Vous êtes déconnecté/ : /You are signed out/);
      await visit.check("signed out");
      assert.ok(await page.locator("header a[href='/login']").count());
      await go("/account");
      await at("/login");
    });

    it("says calmly what blocks a person who cannot go on", async () => {
      await go("/recover?method=staff_number");
      await identify(OTHERS.inactive.birthDate, OTHERS.inactive);
      await visit.check("recover not activated");

      sesame.cli("account", "disable", OTHERS.disabled.uid);
      await go("/activate/identify?method=staff_number");
      await identify(OTHERS.disabled.birthDate, OTHERS.disabled);
      await visit.check("activate disabled");
      assert.match(await page.textContent("main"), new RegExp(HELPDESK.email.replace(/\./g, "\\.")));

      // Guessing birth dates: refused each time, then slowed down.
      let status;
      for (let day = 10; day < 20 && status !== 429; day++) {
        await go("/activate/identify?method=staff_number");
        await page.fill("#identifier", OTHERS.guessed.staffNumber);
        await page.fill("#birth_date", `${day}/04/1994`);
        [status] = await Promise.all([
          page.waitForNavigation().then((r) => r.status()),
          page.click("main button[type=submit]"),
        ]);
      }
      assert.equal(status, 429);
      await visit.check("too many attempts");
      const locked = await page.textContent("main");
      assert.match(locked, /\b\d\d:\d\d\b/, "when to come back, in local time");
      assert.match(locked, new RegExp(HELPDESK.email.replace(/\./g, "\\.")));
    });

    it("refuses a form whose token was tampered with, calmly", async () => {
      await go("/login");
      await page.route("**/login", (route) =>
        route.request().method() === "POST"
          ? route.continue({ postData: "csrf_token=forged&login=x&password=y" })
          : route.continue(),
      );
      await page.fill("#login", "x");
      await page.fill("#password", "y");
      const [response] = await Promise.all([page.waitForNavigation(), page.click("main button[type=submit]")]);
      assert.equal(response.status(), 403);
      await visit.check("form refused");
      await page.unroute("**/login");
    });
  });
}
