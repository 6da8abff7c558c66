#!/usr/bin/env python3
"""The dashboard in headless Chromium (run through tools/browser-test, which installs what it needs).

Starts the platform simulator and `tokenledger serve` (embedded SQLite, auth.mode: keys with an
admin key and a read key made by `tokenledger key new`), sets up one healthy app, one failing on a
busy platform and one parked on a rejected secret, then in the browser: signs in, checks each app's
state on the fleet page, one bar per token on the app page, that a refresh from the page appends one
event and calls the platform once, that a forged action without the CSRF token is refused, and that
a read key sees no action. Saves a screenshot of each page into docs/screenshots/ (or
$TOKENLEDGER_SCREENSHOTS_DIR).
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The README's screenshots, retaken on every run (TOKENLEDGER_SCREENSHOTS_DIR puts them elsewhere).
SHOTS = os.environ.get("TOKENLEDGER_SCREENSHOTS_DIR") or os.path.join(ROOT, "docs", "screenshots")
BIN = os.path.join(ROOT, ".build", "debug")
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None, form=None):
    """(status, text) of one request; never raises for an HTTP status."""
    data = None
    headers = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=15) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def new_key(name, scopes):
    args = [os.path.join(BIN, "tokenledger"), "key", "new", "--id", name]
    for scope in scopes:
        args += ["--scope", scope]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    key = out.split("key (give it to the caller; it is not stored): ")[1].split()[0]
    entry = out.split("auth.keys entry (configuration holds only the hash): ")[1].split()[0]
    return key, entry


def main():
    tmp = tempfile.mkdtemp(prefix="tokenledger-browser.")
    processes = []
    driver = None
    try:
        sim_port, tl_port = free_port(), free_port()
        sim = f"http://127.0.0.1:{sim_port}"
        api = f"http://127.0.0.1:{tl_port}"
        processes.append(subprocess.Popen(
            [os.path.join(BIN, "platform-simulator"), "--port", str(sim_port),
             "--app", "wxok:s", "--app", "wxbusy:s", "--app", "wxbad:right"],
            stdout=open(os.path.join(tmp, "sim.log"), "w"), stderr=subprocess.STDOUT))
        admin_key, admin_entry = new_key("ops", ["read", "refresh", "admin"])
        read_key, read_entry = new_key("viewer", ["read"])
        env = dict(os.environ, TOKENLEDGER_ENV="test", HTTP_PORT=str(tl_port), EVENTLOG_URL=f"sqlite:{tmp}/ledger.sqlite",
                   SECRETS_KEY_FILE=f"{tmp}/secrets.key", PLATFORMS_TIMEOUT_MS="2000", PLATFORMS_WECHAT_BASE_URL=sim,
                   AUTH_MODE="keys", AUTH_KEYS=f"{admin_entry},{read_entry}",
                   EVENTLOG_SNAPSHOT_EVERY="1", EVENTLOG_POLL_INTERVAL_MS="200")
        processes.append(subprocess.Popen(
            [os.path.join(BIN, "tokenledger"), "serve", "--config-dir", os.path.join(ROOT, "config")],
            env=env, stdout=open(os.path.join(tmp, "tokenledger.log"), "w"), stderr=subprocess.STDOUT))
        for _ in range(300):
            try:
                if http("GET", api + "/readyz")[0] == 200 and http("GET", sim + "/_sim/apps/wxok/calls")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)

        bearer = {"Authorization": "Bearer " + admin_key}
        # WeChat's classic token call: one HTTP request per refresh (a forced stable_token may take two).
        check(http("PUT", api + "/token/demo/wechat/wxok/credentials", body={"secret": "s", "options": {"mode": "classic"}},
                   headers=bearer)[0] == 200, "the healthy app is registered")
        check(http("GET", api + "/token/demo/wechat/wxok", headers=bearer)[0] == 200, "the healthy app has a token")
        http("PUT", sim + "/_sim/apps/wxbusy/behaviour", body={"mode": "busy"})
        check(http("GET", api + "/token/demo/wechat/wxbusy?secret=s", headers=bearer)[0] == 503, "the busy platform fails")
        check(http("GET", api + "/token/demo/wechat/wxbad?secret=wrong", headers=bearer)[0] == 502, "the wrong secret is rejected")

        options = Options()
        for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,900"]:
            options.add_argument(argument)
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
        driver.set_page_load_timeout(30)
        os.makedirs(SHOTS, exist_ok=True)

        def shot(name):
            # The whole page (up to 1600 px), not only the viewport.
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": 1400, "height": max(500, min(height, 1600)), "deviceScaleFactor": 1, "mobile": False})
            driver.save_screenshot(os.path.join(SHOTS, name + ".png"))
            driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

        def login(key):
            driver.get(api + "/ui")
            check(driver.current_url.endswith("/ui/login"), "an anonymous visit is sent to the login form")
            driver.find_element(By.ID, "key").send_keys(key)
            driver.find_element(By.ID, "login-button").click()
            WebDriverWait(driver, 10).until(expected_conditions.presence_of_element_located((By.ID, "fleet")))

        driver.get(api + "/ui/login")
        shot("login")
        login(admin_key)
        states = {row.get_attribute("data-app"): row.get_attribute("data-state") for row in driver.find_elements(By.CSS_SELECTOR, "tr[data-app]")}
        check(states == {"demo/wechat/wxok": "fresh", "demo/wechat/wxbusy": "failing", "demo/wechat/wxbad": "parked"}, f"fleet states {states}")
        check("upstream_busy" in driver.page_source, "the failing app shows its error")
        shot("fleet")

        driver.find_element(By.LINK_TEXT, "wxok").click()
        check(len(driver.find_elements(By.CSS_SELECTOR, "#timeline rect.bar")) == 1, "one bar for one token")
        calls_before = json.loads(http("GET", sim + "/_sim/apps/wxok/calls")[1])["calls"]
        events_before = len(json.loads(http("GET", api + "/token/demo/wechat/wxok/history", headers=bearer)[1])["data"])
        driver.find_element(By.CSS_SELECTOR, "#refresh-form input[name=confirm]").click()
        driver.find_element(By.ID, "refresh-button").click()
        WebDriverWait(driver, 15).until(expected_conditions.presence_of_element_located((By.ID, "notice")))
        calls_after = json.loads(http("GET", sim + "/_sim/apps/wxok/calls")[1])["calls"]
        history = json.loads(http("GET", api + "/token/demo/wechat/wxok/history", headers=bearer)[1])["data"]
        check(calls_after == calls_before + 1, f"the refresh called the platform once ({calls_before} → {calls_after})")
        check(len(history) == events_before + 1 and history[-1]["type"] == "token.issued" and history[-1]["reason"] == "forced",
              "the refresh appended one event, a forced token.issued")
        check(len(driver.find_elements(By.CSS_SELECTOR, "#timeline rect.bar")) == 2, "two bars for two tokens")
        shot("app")

        # A forged action: the session cookie but no CSRF token (as another site's form would send).
        cookie = driver.get_cookie("tokenledger_session")
        check(cookie is not None and cookie.get("httpOnly") and cookie.get("sameSite") == "Strict", "the session cookie is HttpOnly, SameSite=Strict")
        status, _ = http("POST", api + "/ui/app/demo/wechat/wxok/refresh", form={"confirm": "yes"},
                         headers={"Cookie": f"tokenledger_session={cookie['value']}"})
        check(status == 403, f"a POST without the CSRF token is refused ({status})")
        driver.execute_script(
            "const f=document.createElement('form');f.method='post';f.action='/ui/app/demo/wechat/wxok/refresh';"
            "const c=document.createElement('input');c.name='confirm';c.value='yes';f.appendChild(c);document.body.appendChild(f);f.submit();")
        WebDriverWait(driver, 10).until(expected_conditions.presence_of_element_located((By.ID, "problem")))
        check("CSRF" in driver.find_element(By.ID, "problem").text, "the browser's forged form is refused")
        check(json.loads(http("GET", sim + "/_sim/apps/wxok/calls")[1])["calls"] == calls_after, "refused actions call no platform")

        driver.get(api + "/ui/cluster")
        check("Log head" in driver.page_source, "the cluster page shows the log's head")
        check(driver.find_element(By.ID, "started").text == "the first event of the log", "the cluster page says where memory started")
        for _ in range(20):  # the node writes a snapshot within a poll interval of an event
            if "written by" in driver.find_element(By.ID, "snapshot").text:
                break
            time.sleep(0.25)
            driver.get(api + "/ui/cluster")
        check("written by" in driver.find_element(By.ID, "snapshot").text, "the cluster page shows the newest memory snapshot")
        shot("cluster")

        driver.delete_all_cookies()
        login(read_key)
        driver.get(api + "/ui/app/demo/wechat/wxok")
        check(len(driver.find_elements(By.ID, "refresh-button")) == 0 and len(driver.find_elements(By.ID, "secret-form")) == 0,
              "a read key sees no action")
        check(len(driver.find_elements(By.CSS_SELECTOR, "#timeline rect.bar")) == 2, "a read key sees the timeline")
    finally:
        if driver is not None:
            driver.quit()
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if failures:
            print("== tokenledger log")
            print(open(os.path.join(tmp, "tokenledger.log")).read()[-3000:])
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"{len(failures)} browser check(s) failed")
        sys.exit(1)
    print("browser tests passed")


if __name__ == "__main__":
    main()
