"""A headless Chromium for the integration tests, driven through Selenium
WebDriver: Debian's chromium, chromium-driver (/usr/bin/chromedriver)
and python3-selenium (contrib/install-deps).  No selenium-manager and no
network: the driver is given by path, the browser binary too.

    b = Browser(ca_pem=d.ca)          # trusts the daemon's test CA only
    test.addCleanup(b.stop)           # the browser always stopped
    b.start()
    b.size("phone")                   # or "desktop"
    b.get("https://127.0.0.1:PORT/")
    b.screenshot(path); b.text(); b.assert_no_dialog(); b.console_errors()

What the browser runs, and why:

- /usr/lib/chromium/chromium, not the /usr/bin/chromium wrapper: the
  wrapper sources /etc/chromium.d (Google API keys, remote extensions,
  --enable-gpu-rasterization), none of which a test wants.
- --headless=new --no-sandbox (we run as root, where Chromium's sandbox
  refuses to start) --disable-gpu --disable-dev-shm-usage (a container's
  /dev/shm is small) and a --user-data-dir of its own, removed at stop;
  HOME points into it too, so nothing is written to the real home.
- --disable-background-networking and a few more (no component updates,
  sync, translation, domain reliability, first-run): the only requests
  are the ones the test makes, to the daemon on loopback.  And
  --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE
  ::1": no host name resolves and no other address is reached, whatever
  a page or the browser itself asks for (a test's URLs name 127.0.0.1 or
  [::1]).
- Certificates: the daemon's [web] certificate is issued by the demo
  config's test CA for 127.0.0.1, ::1 and localhost, so the only error is
  the unknown issuer.  Neither `acceptInsecureCerts` nor
  --ignore-certificate-errors is used: both accept any certificate at
  all, so a daemon serving the wrong one would pass.  Instead
  --ignore-certificate-errors-spki-list names the SHA-256 of the test
  CA's public key (SubjectPublicKeyInfo, as `openssl pkey -pubin
  -outform der | sha256 | base64`), which Chromium honours only together
  with --user-data-dir: a chain holding that key is accepted, every other
  certificate error still shows Chromium's "Your connection is not
  private" page.  The effect is that of trusting the test CA, without
  touching a certificate store.
- Window sizes: "desktop" 1280x900 and "phone" 390x844 at device scale 1
  (small PNGs), set with the DevTools Emulation.setDeviceMetricsOverride
  (mobile=True for the phone: the page's meta viewport applies as on a
  phone), so the layout width is exactly the one asked for.
- JavaScript dialogs: unhandledPromptBehavior "ignore", so an alert()
  that a hostile value managed to run stays open until
  assert_no_dialog() looks with switch_to.alert (the default, "dismiss
  and notify", would close it at the next command, and a later look would
  see nothing).  Nothing is injected into the page to catch dialogs: the
  page runs as it would for anyone.  Any command that met an open
  dialog (UnexpectedAlertPresentException) is remembered too.
- Console: goog:loggingPrefs browser=ALL; get_log("browser") drains the
  browser's buffer, so every entry is kept in self.log.  A Content
  Security Policy violation is logged there at level SEVERE, source
  "security" ("Executing inline script violates the following Content
  Security Policy directive ...").

Stop always: stop() quits the session, stops chromedriver, then kills
by PID whatever process of this browser is still alive (chromedriver's
descendants, and every process whose command line names this browser's
own profile directory: the crash handlers are started detached), and
removes the profile directory.  It is safe to call twice; a browser
not stopped is stopped at exit.
"""

import atexit
import base64
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/lib/chromium/chromium"
SIZES = {"desktop": (1280, 900, False), "phone": (390, 844, True)}


class BrowserError(AssertionError):
    pass


_live = set()       # started and not stopped: stopped at exit whatever happened


@atexit.register
def _stop_leftovers():
    for b in list(_live):
        b.stop()


def require():
    """Fails (never skips) when the browser or the bindings are missing."""
    missing = [p for p in (CHROMEDRIVER, CHROMIUM) if not os.access(p, os.X_OK)]
    try:
        import selenium        # noqa: F401  python3-selenium
    except ImportError:
        missing.append("python3-selenium")
    if missing:
        raise BrowserError("not installed: %s (contrib/install-deps: chromium "
                           "chromium-driver python3-selenium)" % ", ".join(missing))


def spki_sha256_b64(pem_path):
    """The base64 SHA-256 of the SubjectPublicKeyInfo of the certificate in
    PEM_PATH (what --ignore-certificate-errors-spki-list takes)."""
    pub = subprocess.run(["openssl", "x509", "-in", pem_path, "-noout", "-pubkey"],
                         capture_output=True, check=True, timeout=30).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub,
                         capture_output=True, check=True, timeout=30).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def _children(pid):
    """PIDs of the processes whose parent is PID (from /proc)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and fields[1] == str(pid):
            out.append(int(name))
    return out


def _pids_using(path):
    """PIDs of the processes whose command line names PATH (our profile
    directory: unique to one Browser, so these are ours).  This finds the
    crash handlers too, which Chromium starts detached from itself."""
    out = []
    needle = path.encode()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % name, "rb") as f:
                if needle in f.read():
                    out.append(int(name))
        except OSError:
            continue
    return out


def _descendants(pid):
    out, todo = [], [pid]
    while todo:
        for c in _children(todo.pop()):
            out.append(c)
            todo.append(c)
    return out


class Browser:
    """One headless Chromium session (see the module's docstring)."""

    def __init__(self, ca_pem=None, timeout=30):
        require()
        self.ca_pem = ca_pem
        self.timeout = timeout
        self.driver = None
        self.service = None
        self.dir = None
        self.log = []               # every console entry seen
        self.dialogs = []           # texts of dialogs met by any command
        self._pids = []

    # -- life

    def start(self):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        self.dir = tempfile.mkdtemp(prefix="ms-chromium-")
        profile = os.path.join(self.dir, "profile")
        os.mkdir(profile)
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        args = ["--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-default-apps", "--disable-extensions",
                "--disable-domain-reliability", "--disable-breakpad",
                "--disable-features=Translate,OptimizationHints,MediaRouter,"
                "AutofillServerCommunication,CertificateTransparencyComponentUpdater",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE ::1",
                "--no-first-run", "--no-default-browser-check", "--no-pings",
                "--metrics-recording-only", "--password-store=basic",
                "--hide-scrollbars", "--force-color-profile=srgb",
                "--user-data-dir=" + profile, "--window-size=1280,900",
                "--lang=en-US"]
        if self.ca_pem:
            args.append("--ignore-certificate-errors-spki-list="
                        + spki_sha256_b64(self.ca_pem))
        for a in args:
            opts.add_argument(a)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        opts.set_capability("unhandledPromptBehavior", "ignore")
        opts.set_capability("pageLoadStrategy", "normal")
        env = dict(os.environ, HOME=self.dir, TMPDIR=self.dir,
                   XDG_CONFIG_HOME=os.path.join(self.dir, "config"),
                   XDG_CACHE_HOME=os.path.join(self.dir, "cache"))
        for k in ("DISPLAY", "WAYLAND_DISPLAY", "GOOGLE_API_KEY",
                  "GOOGLE_DEFAULT_CLIENT_ID", "GOOGLE_DEFAULT_CLIENT_SECRET"):
            env.pop(k, None)
        self.driver_log = os.path.join(self.dir, "chromedriver.log")
        self.service = Service(executable_path=CHROMEDRIVER, log_path=self.driver_log,
                               env=env)
        try:
            self.driver = webdriver.Chrome(service=self.service, options=opts)
        except Exception as e:
            tail = self.driver_log_tail()
            self.stop()
            raise BrowserError("chromium did not start: %s\n%s" % (e, tail))
        _live.add(self)
        self._note_pids()
        self.driver.set_page_load_timeout(self.timeout)
        self.driver.set_script_timeout(self.timeout)
        return self

    def _note_pids(self):
        p = getattr(self.service, "process", None)
        if p is not None:
            self._pids = _descendants(p.pid)

    def stop(self):
        """Quit the session and stop chromedriver; then kill, by PID, any
        process of theirs still there; remove the profile.  Idempotent."""
        driver, self.driver = self.driver, None
        if driver is not None:
            self._note_pids()
            try:
                driver.quit()           # also stops the service
            except Exception:
                pass
        if self.service is not None:
            p = getattr(self.service, "process", None)
            try:
                self.service.stop()
            except Exception:
                pass
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
            self.service = None
        if self.dir is not None:
            self._pids = sorted(set(self._pids) | set(_pids_using(self.dir)))
        end = time.monotonic() + 5
        for pid in self._pids:
            while time.monotonic() < end and _alive(pid):
                time.sleep(0.05)
            if _alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        self._pids = []
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        _live.discard(self)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def driver_log_tail(self, n=40):
        try:
            with open(self.driver_log, errors="replace") as f:
                lines = f.read().splitlines()
        except (OSError, AttributeError):
            return ""
        return "--- chromedriver log ---\n%s\n--- end ---" % "\n".join(lines[-n:])

    # -- commands (every one notes a dialog it met)

    def _call(self, fn, *args):
        from selenium.common.exceptions import UnexpectedAlertPresentException
        try:
            return fn(*args)
        except UnexpectedAlertPresentException as e:
            self.dialogs.append(getattr(e, "alert_text", None) or str(e))
            raise BrowserError("a JavaScript dialog is open: %r" % self.dialogs[-1])

    def size(self, name):
        """Lay the page out at SIZES[NAME] (device scale 1)."""
        w, h, mobile = SIZES[name]
        self._call(self.driver.execute_cdp_cmd, "Emulation.setDeviceMetricsOverride",
                   {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": mobile})
        self._call(self.driver.execute_cdp_cmd, "Emulation.setTouchEmulationEnabled",
                   {"enabled": mobile, "maxTouchPoints": 5 if mobile else 1})
        return w, h

    def grant_clipboard(self, origin):
        """Lets ORIGIN's pages read and write the clipboard (a user would
        be asked)."""
        self._call(self.driver.execute_cdp_cmd, "Browser.grantPermissions",
                   {"origin": origin,
                    "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})

    def clipboard(self):
        """The clipboard's text, read by the page (grant_clipboard first)."""
        got = self.js_async("""
var done = arguments[arguments.length - 1];
navigator.clipboard.readText().then(function (t) { done([true, t]); },
                                    function (e) { done([false, String(e)]); });""")
        if not got[0]:
            raise BrowserError("clipboard not readable: %s" % got[1])
        return got[1]

    def get(self, url):
        self._call(self.driver.get, url)

    @property
    def url(self):
        return self._call(lambda: self.driver.current_url)

    def js(self, script, *args):
        return self._call(self.driver.execute_script, script, *args)

    def js_async(self, script, *args):
        """SCRIPT's result, passed to its last argument (a callback)."""
        return self._call(self.driver.execute_async_script, script, *args)

    def text(self, selector="body"):
        """The rendered text (innerText) of the first element matching the
        CSS SELECTOR; None when there is none."""
        return self.js("var e = document.querySelector(arguments[0]);"
                       " return e ? e.innerText : null;", selector)

    def text_content(self, selector="body"):
        """textContent (every text node, also hidden ones)."""
        return self.js("var e = document.querySelector(arguments[0]);"
                       " return e ? e.textContent : null;", selector)

    def html(self):
        """The DOM as it is now, serialized."""
        return self.js("return document.documentElement.outerHTML;")

    def find(self, selector):
        from selenium.webdriver.common.by import By
        return self._call(self.driver.find_elements, By.CSS_SELECTOR, selector)

    def wait(self, script, timeout=10, what=None, interval=0.1):
        """Poll the JavaScript expression body SCRIPT (returning a value)
        until it is truthy; return it.  Fails after TIMEOUT seconds."""
        end = time.monotonic() + timeout
        last = None
        while True:
            last = self.js(script)
            if last:
                return last
            if time.monotonic() > end:
                raise BrowserError("timed out after %.0fs waiting for %s (last %r)\n"
                                   "url %s\n%s" % (timeout, what or script, last,
                                                   self.driver.current_url,
                                                   self.console_summary()))
            time.sleep(interval)

    def screenshot(self, path, full_page=False, max_height=4000, top=None):
        """A PNG of the viewport at PATH; with FULL_PAGE, of the page from
        its top (or from the top of the element TOP, a CSS selector) down
        to at most MAX_HEIGHT CSS pixels.  Returns its size in bytes."""
        params = {"format": "png", "captureBeyondViewport": bool(full_page)}
        if full_page:
            m = self._call(self.driver.execute_cdp_cmd, "Page.getLayoutMetrics", {})
            size = m.get("cssContentSize") or m["contentSize"]
            y = 0
            if top is not None:
                y = self.js("var e = document.querySelector(arguments[0]);"
                            " return e ? Math.max(0, Math.floor("
                            "e.getBoundingClientRect().top + window.scrollY) - 8) : 0;",
                            top)
            params["clip"] = {"x": 0, "y": y, "width": size["width"],
                              "height": min(size["height"] - y, max_height), "scale": 1}
        data = self._call(self.driver.execute_cdp_cmd, "Page.captureScreenshot", params)
        png = base64.b64decode(data["data"])
        if not png.startswith(b"\x89PNG\r\n\x1a\n"):
            raise BrowserError("screenshot is not a PNG")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "wb") as f:
            f.write(png)
        return len(png)

    # -- what the page did

    def open_dialog(self):
        """The text of an open alert/confirm/prompt, or None."""
        from selenium.common.exceptions import NoAlertPresentException
        try:
            alert = self.driver.switch_to.alert
            text = alert.text
        except NoAlertPresentException:
            return None
        self.dialogs.append(text)
        try:
            alert.dismiss()
        except Exception:
            pass
        return text

    def assert_no_dialog(self):
        text = self.open_dialog()
        if text is not None or self.dialogs:
            raise BrowserError("JavaScript dialog(s) opened: %r"
                               % (self.dialogs or [text]))

    def reset(self):
        """Forget the dialogs and console entries seen so far (the
        browser's buffer drained first)."""
        self.console()
        self.log = []
        self.dialogs = []

    def console(self):
        """Every console entry so far ({level, message, source, timestamp})."""
        self.log.extend(self._call(self.driver.get_log, "browser"))
        return list(self.log)

    def console_errors(self, ignore=("/favicon.ico",)):
        """SEVERE entries, but those about a URL ending in one of IGNORE
        (the browser asks for /favicon.ico by itself)."""
        out = []
        for e in self.console():
            if e.get("level") != "SEVERE":
                continue
            msg = e.get("message", "")
            if any((u + " ") in msg for u in ignore):
                continue
            out.append(e)
        return out

    def csp_violations(self):
        return [e for e in self.console()
                if e.get("source") == "security"
                or "Content Security Policy" in e.get("message", "")]

    def console_summary(self):
        try:
            entries = self.console()
        except Exception as e:
            return "(console not readable: %s)" % e
        return "--- browser console ---\n%s\n--- end ---" % "\n".join(
            "%s %s %s" % (e.get("level"), e.get("source"), e.get("message"))
            for e in entries)


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2:][:1] not in ("Z", "X")
