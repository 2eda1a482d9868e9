// A bench tool's POST to Vigie's API as JSON, with its token (and a replay session's trainer key
// when given); a refusal throws, naming the path, the status and the body.
export function poster(url, auth) {
  return async (path, body, key) => {
    const headers = { "content-type": "application/json", ...auth, ...(key ? { "x-vigie-trainer-key": key } : {}) };
    const res = await fetch(url + path, { method: "POST", headers, body: JSON.stringify(body) });
    const json = await res.json();
    if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
}
