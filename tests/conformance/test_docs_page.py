"""The docs page at / in a real browser: Debian's headless chromium, driven
through its chromedriver by Selenium. The page must load with no console
error, list the models, run a try-it request and render its response, and
classify digits drawn with the mouse on the digits model's canvas.

Screenshots go to $FERRY_TEST_ARTIFACTS (default <repo>/.build/test-artifacts/docs-page).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from conformance_support import REPO_ROOT

ARTIFACTS = Path(os.environ.get("FERRY_TEST_ARTIFACTS", REPO_ROOT / ".build" / "test-artifacts")) / "docs-page"
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")

# Strokes in canvas pixels (224×224), drawn the way a person would.
STROKES = {
    1: [[(104, 30), (116, 20), (116, 204)]],
    0: [[(112, 26), (70, 60), (62, 112), (72, 170), (112, 198), (152, 170), (162, 112), (152, 60), (112, 26)]],
    7: [[(50, 36), (176, 36), (140, 110), (104, 200)]],
}


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.fail("chromium and chromedriver are missing: run scripts/install-system-packages --tests")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1800", "--disable-gpu"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def page(browser, docs_server):
    browser.get(docs_server.http_base() + "/")
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded") == "true")
    return browser


def card(page, model: str):
    return page.find_element(By.CSS_SELECTOR, f'section.model[data-model="{model}"]')


def console_errors(browser) -> list[str]:
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]


def test_page_loads_without_console_errors(page):
    page.save_screenshot(str(ARTIFACTS / "loaded.png"))
    assert console_errors(page) == []
    models = {node.get_attribute("data-model") for node in page.find_elements(By.CSS_SELECTOR, "section.model")}
    assert models == {"digits", "mlp", "strings", "multi_io"}
    assert page.find_element(By.ID, "server-live").text == "live"
    assert page.find_element(By.ID, "server-ready").text == "ready"
    # Each model's signature as the metadata endpoint gives it.
    assert "[-1, 64]" in card(page, "mlp").text and "[-1, 16]" in card(page, "mlp").text


def test_try_it_renders_the_response(page):
    mlp = card(page, "mlp")
    request = json.loads(mlp.find_element(By.CSS_SELECTOR, "textarea.request").get_attribute("value"))
    assert request["inputs"][0]["shape"] == [1, 64] and len(request["inputs"][0]["data"]) == 64
    page.execute_script("arguments[0].scrollIntoView()", mlp)
    mlp.find_element(By.CSS_SELECTOR, "button.send").click()
    response = mlp.find_element(By.CSS_SELECTOR, "pre.response")
    WebDriverWait(page, 30).until(lambda _: response.get_attribute("data-status") == "200")
    body = json.loads(response.text)
    assert body["model_name"] == "mlp"
    assert body["outputs"][0]["shape"] == [1, 16] and len(body["outputs"][0]["data"]) == 16
    assert "HTTP 200 in" in mlp.find_element(By.CSS_SELECTOR, ".latency").text
    # The same request as code, for each client.
    mlp.find_element(By.TAG_NAME, "summary").click()
    snippet = mlp.find_element(By.CSS_SELECTOR, "pre.snippet")
    assert "curl -s -X POST" in snippet.text and "/v2/models/mlp/infer" in snippet.text
    for tab in mlp.find_elements(By.CSS_SELECTOR, ".tabs button"):
        tab.click()
        assert snippet.text, tab.text
    assert "HTTPInferenceClient" in snippet.text  # the last tab: Swift
    page.save_screenshot(str(ARTIFACTS / "try-it.png"))
    assert console_errors(page) == []
    # An invalid request shows the server's error, not a broken page. (The
    # browser itself logs the 400 as a failed load; nothing else may appear.)
    area = card(page, "strings").find_element(By.CSS_SELECTOR, "textarea.request")
    page.execute_script("arguments[0].value = arguments[1]", area, '{"inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": ["a"]}]}')
    strings = card(page, "strings")
    strings.find_element(By.CSS_SELECTOR, "button.send").click()
    result = strings.find_element(By.CSS_SELECTOR, "pre.response")
    WebDriverWait(page, 30).until(lambda _: result.get_attribute("data-status") == "400")
    assert "error" in json.loads(result.text)
    assert [e for e in console_errors(page) if "/v2/models/strings/infer" not in e or "status of 400" not in e] == []


@pytest.mark.parametrize("digit", sorted(STROKES))
def test_digit_canvas_classifies_a_drawn_digit(page, digit):
    digits = card(page, "digits")
    canvas = digits.find_element(By.CSS_SELECTOR, "canvas.digit-canvas")
    page.execute_script("arguments[0].scrollIntoView()", canvas)
    digits.find_element(By.XPATH, ".//button[text()='Clear']").click()
    size = canvas.size["width"]
    for stroke in STROKES[digit]:
        # Selenium's offsets are from the element's centre.
        points = [(x * size / 224 - size / 2, y * size / 224 - size / 2) for x, y in stroke]
        actions = ActionChains(page, duration=20).move_to_element_with_offset(canvas, *points[0]).click_and_hold()
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            for step in range(1, 9):
                actions.move_to_element_with_offset(canvas, x0 + (x1 - x0) * step / 8, y0 + (y1 - y0) * step / 8)
        actions.release().perform()
    prediction = digits.find_element(By.CSS_SELECTOR, ".prediction")
    WebDriverWait(page, 30).until(lambda _: prediction.get_attribute("data-digit") is not None)
    page.save_screenshot(str(ARTIFACTS / f"digit-{digit}.png"))
    assert prediction.get_attribute("data-digit") == str(digit), digits.find_element(By.CSS_SELECTOR, ".digit-detail").text
    assert console_errors(page) == []


def test_overview_screenshot(page):
    # The page as a visitor first sees it, after the digits above: the README shows this one.
    page.set_window_size(1280, 1100)
    page.execute_script("window.scrollTo(0, 0)")
    page.save_screenshot(str(ARTIFACTS / "overview.png"))
    assert (ARTIFACTS / "overview.png").stat().st_size > 10_000
