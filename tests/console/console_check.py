"""Drive the lab console in a real browser (headless Chromium through chromedriver, Selenium):
the nodes' table, "Run all demos", the ladders drawn from the wire taps, a click on an arrow
showing the decoded message, a flow's pcapng. Prints PASS/FAIL per check; exit 1 on a failure.

usage: console_check.py URL SCREENSHOT_PATH
"""
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

url, screenshot = sys.argv[1], sys.argv[2]
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"PASS: {name}")
    else:
        failed += 1
        print(f"FAIL: {name}" + (f" ({detail})" if detail else ""))


def wait(what, predicate, seconds):
    end = time.time() + seconds
    while time.time() < end:
        try:
            value = predicate()
            if value:
                return value
        except Exception:  # the page may be re-rendering
            pass
        time.sleep(0.3)
    return None


options = Options()
for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--window-size=1600,2400"]:
    options.add_argument(arg)
options.binary_location = "/usr/bin/chromium"
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
try:
    driver.set_page_load_timeout(30)
    driver.get(url)
    rows = wait("nodes", lambda: [r for r in driver.find_elements(By.CSS_SELECTOR, "#nodes tbody tr")
                                  if "ready" in r.text] or None, 20) or []
    check(f"the page lists the lab's nodes, each ready ({len(rows)})", len(rows) >= 10)
    demos = wait("demos", lambda: driver.find_elements(By.CSS_SELECTOR, "#demos tbody tr") or None, 20) or []
    names = [d.get_attribute("id").removeprefix("demo-") for d in demos]
    check(f"a button per demo ({', '.join(names)})", {"presence", "dra", "poc", "mbs"} <= set(names))

    driver.find_element(By.ID, "run-all").click()

    def verdicts():
        v = {n: driver.find_element(By.CSS_SELECTOR, f"#demo-{n} .verdict").text for n in names}
        return v if all(x in ("PASS", "FAIL") for x in v.values()) else None

    final = wait("verdicts", verdicts, 300) or {}
    for n in names:
        detail = driver.find_element(By.CSS_SELECTOR, f"#demo-{n} .detail").text
        check(f"demo {n} run from the page passes", final.get(n) == "PASS", detail[:300])

    # The ladders: one per flow, an arrow per message, labelled with the message.
    time.sleep(1)
    flows = driver.find_elements(By.CSS_SELECTOR, "#flows .flow")
    arrows = driver.find_elements(By.CSS_SELECTOR, "#flows g.arrow")
    labels = [a.get_attribute("data-label") or "" for a in arrows]
    check(f"ladders drawn: {len(flows)} flows, {len(arrows)} arrows", len(flows) >= 5 and len(arrows) >= 30)
    empty = [f.get_attribute("data-flow") for f in flows if not f.find_elements(By.CSS_SELECTOR, "g.arrow")]
    check("every flow's ladder has arrows", not empty, f"empty: {empty[:3]}")
    for want in ["REGISTER sip:", "SUBSCRIBE sip:", "NOTIFY sip:", "MESSAGE sip:", "SIP/2.0 200 OK",
                 "INVITE sip:demo", "BYE sip:",
                 "CCR ", "CCA ", "REGISTRATION REQUEST", "REGISTRATION ACCEPT"]:
        n = sum(1 for label in labels if label.startswith(want) or f" {want}" in f" {label}")
        check(f"arrows labelled {want!r}: {n}", n >= 1)
    lanes = {t.text for t in driver.find_elements(By.CSS_SELECTOR, "#flows svg text.lane")}
    check(f"lanes named by node ({', '.join(sorted(l for l in lanes if not l[0].isdigit()))})",
          {"presence-server", "vdra", "session-manager", "poc-controlling", "pf-a", "pf-b"} <= lanes)
    # A message both DRAs see is drawn once, between them (not from an ephemeral port).
    check("a vDRA -> hDRA or vPCRF -> hDRA arrow is drawn between named lanes",
          any(l in lanes for l in ("hdra", "vpcrf")))

    def click_and_read(prefix, expect):
        for a in driver.find_elements(By.CSS_SELECTOR, "#flows g.arrow"):
            if (a.get_attribute("data-label") or "").startswith(prefix):
                driver.execute_script("arguments[0].scrollIntoView();", a)
                driver.execute_script(
                    "arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", a)
                text = wait("detail", lambda: (lambda t: t if expect in t else None)(
                    driver.find_element(By.ID, "detail").text), 10)
                return text or driver.find_element(By.ID, "detail").text
        return ""

    text = click_and_read("MESSAGE sip:", "Content-Type:")
    check("a click on the failure MESSAGE shows it decoded (its SIP text)", "Content-Type:" in text, text[:200])
    text = click_and_read("CCR ", "Session-Id")
    check("a click on a CCR shows its AVPs by name", "Session-Id" in text, text[:200])

    link = driver.find_element(By.CSS_SELECTOR, "#flows .flow h3 a")
    data = urllib.request.urlopen(link.get_attribute("href"), timeout=10).read()
    check(f"a flow's pcapng downloads ({len(data)} bytes)", data[:4] == b"\x0a\x0d\x0d\x0a" and len(data) > 100)

    driver.execute_script("window.scrollTo(0, 0);")
    driver.save_screenshot(screenshot)
    print(f"screenshot: {screenshot}")
finally:
    driver.quit()
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
