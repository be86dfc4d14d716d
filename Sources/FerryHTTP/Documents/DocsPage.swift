/// The docs page at `/`: one self-contained HTML document (styles and script
/// inline, nothing from a CDN) that reads the server's own API — health,
/// repository index, model metadata — and lets a visitor try each model.
enum DocsPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <link rel="icon" href="data:,">
        <title>Ferry</title>
        <style>
        :root { --fg: #1d232b; --muted: #5b6673; --line: #d9dee4; --bg: #f6f7f9; --card: #fff; --accent: #0b6bcb; --ok: #1a7f37; --bad: #c62828; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
        header { display: flex; align-items: center; gap: 16px; padding: 14px 28px; background: #10161d; color: #fff; }
        header h1 { margin: 0; font-size: 20px; letter-spacing: .5px; }
        header .version { color: #9fb0c2; }
        header nav { margin-left: auto; display: flex; gap: 16px; }
        header a { color: #cfe3ff; }
        main { max-width: 1100px; margin: 0 auto; padding: 20px 28px 60px; }
        .badge { display: inline-block; padding: 1px 9px; border-radius: 10px; font-size: 12px; font-weight: 600; background: #e4e8ec; color: var(--muted); }
        .badge.ok { background: #dcf3e3; color: var(--ok); }
        .badge.bad { background: #fde2e2; color: var(--bad); }
        .card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
        .card h2 { margin: 0 0 4px; font-size: 18px; display: flex; gap: 10px; align-items: center; }
        .muted { color: var(--muted); }
        table { border-collapse: collapse; margin: 8px 0; font-size: 14px; }
        th, td { text-align: left; padding: 3px 14px 3px 0; border-bottom: 1px solid var(--line); }
        th { color: var(--muted); font-weight: 600; }
        code, pre, textarea { font: 13px/1.45 ui-monospace, "DejaVu Sans Mono", monospace; }
        textarea { width: 100%; min-height: 110px; padding: 8px; border: 1px solid var(--line); border-radius: 6px; resize: vertical; }
        pre { background: #f1f3f5; border-radius: 6px; padding: 10px; overflow: auto; max-height: 320px; margin: 6px 0; white-space: pre-wrap; word-break: break-all; }
        button { font: inherit; padding: 5px 14px; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
        button.secondary { background: #fff; color: var(--accent); }
        .row { display: flex; gap: 10px; align-items: center; margin: 8px 0; flex-wrap: wrap; }
        .tabs button { border-color: var(--line); background: #fff; color: var(--fg); }
        .tabs button.active { border-color: var(--accent); color: var(--accent); }
        .digits { display: flex; gap: 20px; align-items: flex-start; margin-top: 8px; }
        canvas { border: 1px solid var(--line); border-radius: 6px; background: #000; touch-action: none; cursor: crosshair; }
        .prediction { font-size: 44px; font-weight: 700; min-width: 60px; }
        details summary { cursor: pointer; color: var(--accent); margin-top: 8px; }
        </style>
        </head>
        <body>
        <header>
          <h1>Ferry</h1><span class="version" id="server-version"></span>
          <span id="server-live" class="badge">live?</span><span id="server-ready" class="badge">ready?</span>
          <nav><a href="/openapi.json">OpenAPI document</a><a href="/v2">Server metadata</a></nav>
        </header>
        <main>
          <p class="muted">Every model this server knows, what it takes and returns, and a form to try it. The same requests work over
          the Open Inference Protocol (KServe v2, HTTP and gRPC) and TensorFlow Serving's <code>/v1/models/…:predict</code>.</p>
          <div id="models"><p class="muted">Loading models…</p></div>
        </main>
        <script>
        "use strict";
        const origin = window.location.origin;
        const $ = (tag, props = {}, ...children) => {
          const node = document.createElement(tag);
          for (const [key, value] of Object.entries(props)) {
            if (key === "class") node.className = value; else if (key === "text") node.textContent = value; else node.setAttribute(key, value);
          }
          for (const child of children) node.append(child);
          return node;
        };
        const modelPath = (name) => "/v2/models/" + encodeURIComponent(name);
        async function getJSON(path, options) {
          const response = await fetch(path, options);
          let body = null;
          try { body = await response.json(); } catch (error) { body = null; }
          return { status: response.status, ok: response.ok, body };
        }
        function setBadge(node, value, label) {
          node.textContent = label + (value ? "" : ": no");
          node.className = "badge " + (value ? "ok" : "bad");
        }

        // A valid request for a signature: variable dimensions become 1, values a plain constant per type.
        function exampleValue(datatype, index) {
          if (datatype === "BOOL") return index % 2 === 0;
          if (datatype === "BYTES") return "text";
          if (datatype.startsWith("FP") || datatype === "BF16") return 0.5;
          return 1;
        }
        function exampleRequest(metadata) {
          return {
            inputs: metadata.inputs.map((input) => {
              const shape = input.shape.map((d) => (d < 0 ? 1 : d));
              const count = shape.reduce((a, b) => a * b, 1);
              return { name: input.name, shape, datatype: input.datatype, data: Array.from({ length: count }, (_, i) => exampleValue(input.datatype, i)) };
            }),
          };
        }
        const numpyTypes = { BOOL: "bool_", UINT8: "uint8", UINT16: "uint16", UINT32: "uint32", UINT64: "uint64", INT8: "int8", INT16: "int16",
          INT32: "int32", INT64: "int64", FP16: "float16", FP32: "float32", FP64: "float64", BF16: "float32", BYTES: "object_" };
        const swiftTypes = { BOOL: "Bool", UINT8: "UInt8", UINT16: "UInt16", UINT32: "UInt32", UINT64: "UInt64", INT8: "Int8", INT16: "Int16",
          INT32: "Int32", INT64: "Int64", FP16: "Float16", FP32: "Float", FP64: "Double", BF16: "Float" };
        function snippets(name, request, outputs) {
          const body = JSON.stringify(request);
          const shellBody = body.replace(/'/g, "'\\''");
          const curl = "curl -s -X POST '" + origin + modelPath(name) + "/infer' \\\n  -H 'Content-Type: application/json' \\\n  -d '" + shellBody + "'";
          const host = window.location.host;
          const python = ["import numpy as np", "import tritonclient.http as httpclient", "",
            "client = httpclient.InferenceServerClient(" + JSON.stringify(host) + ")", "inputs = []"];
          for (const input of request.inputs) {
            const value = input.datatype === "BYTES" ? "np.array(" + JSON.stringify(input.data) + ", dtype=np.object_).reshape(" + JSON.stringify(input.shape) + ")"
              : "np.full(" + JSON.stringify(input.shape) + ", " + JSON.stringify(input.data[0]).replace("true", "True") + ", dtype=np." + numpyTypes[input.datatype] + ")";
            python.push("tensor = httpclient.InferInput(" + JSON.stringify(input.name) + ", " + JSON.stringify(input.shape) + ", " + JSON.stringify(input.datatype) + ")");
            python.push("tensor.set_data_from_numpy(" + value + ")", "inputs.append(tensor)");
          }
          python.push("result = client.infer(" + JSON.stringify(name) + ", inputs)");
          for (const output of outputs) python.push("print(result.as_numpy(" + JSON.stringify(output.name) + "))");
          const swift = ["import FerryClient", "import FerryCore", "", "let client = try HTTPInferenceClient(baseURL: " + JSON.stringify(origin) + ", binary: true)",
            "let request = InferenceRequest(inputs: ["];
          for (const input of request.inputs) {
            const count = input.data.length;
            const values = input.datatype === "BYTES" ? "strings: [String](repeating: " + JSON.stringify(input.data[0]) + ", count: " + count + ")"
              : "values: [" + swiftTypes[input.datatype] + "](repeating: " + JSON.stringify(input.data[0]) + ", count: " + count + ")";
            swift.push("    Tensor(name: " + JSON.stringify(input.name) + ", shape: " + JSON.stringify(input.shape) + ", " + values + "),");
          }
          swift.push("])", "let response = try await client.infer(request, model: " + JSON.stringify(name) + ", version: nil)",
            "for output in response.outputs { print(output.name, output.shape) }");
          return { curl, "Python (tritonclient)": python.join("\n"), "Swift (FerryClient)": swift.join("\n") };
        }

        function tensorTable(title, tensors) {
          const table = $("table", {}, $("tr", {}, $("th", { text: title }), $("th", { text: "datatype" }), $("th", { text: "shape" })));
          for (const tensor of tensors) {
            table.append($("tr", {}, $("td", {}, $("code", { text: tensor.name })), $("td", { text: tensor.datatype }), $("td", { text: "[" + tensor.shape.join(", ") + "]" })));
          }
          return table;
        }

        async function infer(name, request) {
          const started = performance.now();
          const answer = await getJSON(modelPath(name) + "/infer", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(request) });
          return { ...answer, milliseconds: performance.now() - started };
        }

        function tryItForm(name, metadata) {
          const request = exampleRequest(metadata);
          const area = $("textarea", { "aria-label": "request for " + name, class: "request" });
          area.value = JSON.stringify(request, null, 1);
          const result = $("pre", { class: "response", text: "Send the request to see the response." });
          const latency = $("span", { class: "latency muted" });
          const send = $("button", { class: "send", text: "Send request" });
          const reset = $("button", { class: "secondary", text: "Reset" });
          send.addEventListener("click", async () => {
            let body;
            try { body = JSON.parse(area.value); } catch (error) { result.textContent = "The request is not JSON: " + error.message; return; }
            result.textContent = "…";
            const answer = await infer(name, body);
            latency.textContent = "HTTP " + answer.status + " in " + answer.milliseconds.toFixed(1) + " ms";
            result.textContent = JSON.stringify(answer.body, null, 1);
            result.dataset.status = String(answer.status);
          });
          reset.addEventListener("click", () => { area.value = JSON.stringify(request, null, 1); });
          const codes = snippets(name, request, metadata.outputs);
          const snippet = $("pre", { class: "snippet" });
          const tabs = $("div", { class: "row tabs" });
          for (const [label, text] of Object.entries(codes)) {
            const tab = $("button", { text: label });
            tab.addEventListener("click", () => {
              for (const other of tabs.children) other.classList.remove("active");
              tab.classList.add("active");
              snippet.textContent = text;
            });
            tabs.append(tab);
          }
          tabs.firstChild.click();
          return $("div", {}, $("h3", { text: "Try it" }), area, $("div", { class: "row" }, send, reset, latency), result,
            $("details", {}, $("summary", { text: "The same request as code" }), tabs, snippet));
        }

        // The digits example (8×8 images, values 0–16, 10 classes): draw a digit and classify it.
        function isDigitsModel(metadata) {
          const input = metadata.inputs.length === 1 ? metadata.inputs[0] : null;
          return input && input.datatype === "FP32" && input.shape.length === 2 && input.shape[1] === 64
            && metadata.outputs.some((o) => o.name === "probabilities" && o.shape[o.shape.length - 1] === 10);
        }
        function digitCanvas(name) {
          const size = 224;
          const canvas = $("canvas", { width: size, height: size, class: "digit-canvas", "aria-label": "draw a digit" });
          const context = canvas.getContext("2d");
          context.lineWidth = 32; context.lineCap = "round"; context.lineJoin = "round"; context.strokeStyle = "#fff";
          const clear = () => { context.fillStyle = "#000"; context.fillRect(0, 0, size, size); };
          clear();
          const prediction = $("div", { class: "prediction", text: "–" });
          const detail = $("div", { class: "muted digit-detail" });
          let drawing = false;
          const point = (event) => { const box = canvas.getBoundingClientRect(); return [(event.clientX - box.left) * size / box.width, (event.clientY - box.top) * size / box.height]; };
          canvas.addEventListener("pointerdown", (event) => { drawing = true; context.beginPath(); context.moveTo(...point(event)); context.lineTo(...point(event)); context.stroke(); });
          canvas.addEventListener("pointermove", (event) => { if (drawing) { context.lineTo(...point(event)); context.stroke(); } });
          const finish = async () => { if (!drawing) return; drawing = false; await classify(); };
          canvas.addEventListener("pointerup", finish);
          canvas.addEventListener("pointerleave", finish);
          async function classify() {
            // Average each 28×28 block into one of the 8×8 pixels, scaled to 0–16 as in scikit-learn's digits.
            const pixels = context.getImageData(0, 0, size, size).data;
            const block = size / 8, data = [];
            for (let row = 0; row < 8; row++) for (let column = 0; column < 8; column++) {
              let sum = 0;
              for (let y = row * block; y < (row + 1) * block; y++) for (let x = column * block; x < (column + 1) * block; x++) sum += pixels[(y * size + x) * 4];
              data.push(Math.round(sum / (block * block) / 255 * 16));
            }
            const answer = await infer(name, { inputs: [{ name: "input", shape: [1, 64], datatype: "FP32", data }] });
            if (!answer.ok) { prediction.textContent = "!"; detail.textContent = answer.body && answer.body.error; return; }
            const probabilities = answer.body.outputs.find((o) => o.name === "probabilities").data;
            const best = probabilities.indexOf(Math.max(...probabilities));
            prediction.textContent = String(best);
            prediction.dataset.digit = String(best);
            detail.textContent = "p = " + probabilities[best].toFixed(3) + " · " + answer.milliseconds.toFixed(1) + " ms";
          }
          const erase = $("button", { class: "secondary", text: "Clear" });
          erase.addEventListener("click", () => { clear(); prediction.textContent = "–"; delete prediction.dataset.digit; detail.textContent = ""; });
          return $("div", {}, $("h3", { text: "Draw a digit" }), $("div", { class: "digits" }, canvas, $("div", {}, prediction, detail, erase)));
        }

        async function modelCard(entry, versions) {
          const ready = entry.state === "READY";
          const card = $("section", { class: "card model", "data-model": entry.name },
            $("h2", {}, $("span", { text: entry.name }), $("span", { class: "badge " + (ready ? "ok" : "bad"), text: entry.state || "NOT LOADED" })));
          card.append($("div", { class: "muted", text: versions.length ? "versions " + versions.join(", ") : "" }));
          if (entry.reason) card.append($("p", { class: "muted", text: entry.reason }));
          if (!ready) return card;
          const answer = await getJSON(modelPath(entry.name));
          if (!answer.ok) { card.append($("p", { text: answer.body ? answer.body.error : "metadata unavailable" })); return card; }
          const metadata = answer.body;
          card.append($("div", { class: "muted", text: metadata.platform }), tensorTable("input", metadata.inputs), tensorTable("output", metadata.outputs));
          if (isDigitsModel(metadata)) card.append(digitCanvas(entry.name));
          card.append(tryItForm(entry.name, metadata));
          return card;
        }

        async function load() {
          const server = await getJSON("/v2");
          if (server.ok) document.getElementById("server-version").textContent = server.body.name + " " + server.body.version;
          setBadge(document.getElementById("server-live"), (await getJSON("/v2/health/live")).ok, "live");
          setBadge(document.getElementById("server-ready"), (await getJSON("/v2/health/ready")).ok, "ready");
          const index = await getJSON("/v2/repository/index", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
          const list = document.getElementById("models");
          list.replaceChildren();
          if (!index.ok) { list.append($("p", { text: "The repository index is unavailable." })); return; }
          const byName = new Map();
          for (const entry of index.body) {
            if (!byName.has(entry.name)) byName.set(entry.name, { entry, versions: [] });
            if (entry.version) byName.get(entry.name).versions.push(entry.version);
          }
          if (byName.size === 0) list.append($("p", { class: "muted", text: "The repository holds no models." }));
          for (const { entry, versions } of byName.values()) list.append(await modelCard(entry, versions));
          document.body.dataset.loaded = "true";
        }
        load().catch((error) => { document.getElementById("models").textContent = "Could not load the models: " + error; });
        </script>
        </body>
        </html>
        """#
}
