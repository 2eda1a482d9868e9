// The room's map: a thin bridge between the Leptos room (which owns the state and decides what
// changed) and MapLibre GL JS (which draws). Everything is local: MapLibre comes from the site's
// /vendor folder, the base map from /api/v1/basemap, text is drawn with the machine's own fonts
// (no `glyphs` URL) and unit pictograms are drawn on a canvas here.
//
// Units arrive as diffs keyed by unit id. Positions glide from the previous fix to the new one;
// the source is updated with `updateData` (by feature id), one update in flight at a time, so the
// frame rate adapts to what the machine can draw instead of queueing work.

import * as maplibregl from "/vendor/maplibre-gl/maplibre-gl.mjs";

const GLIDE_MS = 900;
// Above this many units the per-frame glide costs more than it shows (every frame would rewrite
// every feature); units then move fix to fix, one source update per batch.
const GLIDE_MAX_UNITS = 3000;
const FONT = ["DejaVu Sans", "Noto Sans", "sans-serif"];
// One letter per unit kind, drawn white on the agency colour.
const KIND_LETTERS = {
  patrol_car: "P", motorcycle: "M", foot_patrol: "F", tactical_team: "T", fire_engine: "E", ladder: "L",
  rescue_unit: "R", hazmat: "Z", ambulance: "A", medical_team: "D", command_vehicle: "C", helicopter: "H",
  boat: "B", liaison_officer: "O",
};

function pictogram(letter) {
  const size = 32;
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  const g = canvas.getContext("2d");
  g.fillStyle = "#ffffff";
  g.font = "bold 20px sans-serif";
  g.textAlign = "center";
  g.textBaseline = "middle";
  g.fillText(letter, size / 2, size / 2 + 1);
  return g.getImageData(0, 0, size, size);
}

function arrow() {
  const size = 48;
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  const g = canvas.getContext("2d");
  g.fillStyle = "#e6edf3";
  g.beginPath();
  g.moveTo(size / 2, 2);
  g.lineTo(size / 2 + 6, 12);
  g.lineTo(size / 2 - 6, 12);
  g.closePath();
  g.fill();
  return g.getImageData(0, 0, size, size);
}

const point = (lon, lat) => ({ type: "Point", coordinates: [lon, lat] });

export class RoomMap {
  /**
   * @param {HTMLElement} container
   * @param {{onSelect: (kind: "unit" | "incident", id: number) => void,
   *          onPlace: (lon: number, lat: number) => void,
   *          onMapClick: (lon: number, lat: number) => void,
   *          onFrame?: () => void}} callbacks  onFrame: the benchmark's frame counter only.
   */
  constructor(container, callbacks) {
    this.callbacks = callbacks;
    this.units = new Map(); // id -> {from:[lon,lat], to:[lon,lat], t0, props}
    this.gliding = new Set();
    this.pending = new Map(); // id -> feature diff waiting for the next source update
    this.inFlight = false;
    this.ready = false;
    this.followed = null;
    this.frames = 0;
    this.map = new maplibregl.Map({
      container,
      style: { version: 8, sources: {}, layers: [{ id: "land", type: "background", paint: { "background-color": "#0d1117" } }] },
      center: [-30, 45],
      zoom: 2,
      attributionControl: false,
      dragRotate: false,
      pitchWithRotate: false,
    });
    this.map.touchZoomRotate.disableRotation();
    this.map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    this.map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
    this.loaded = new Promise((resolve) => this.map.on("load", resolve));
    this.loaded.then(() => this.setUp());
    this.installPlacing(container);
    // For diagnostics and the map benchmark (bench/map_fps.mjs): the element knows its map.
    container.roomMap = this;
  }

  async setUp() {
    const m = this.map;
    for (const [kind, letter] of Object.entries(KIND_LETTERS)) m.addImage(`kind-${kind}`, pictogram(letter), { pixelRatio: 2 });
    m.addImage("heading", arrow(), { pixelRatio: 2 });
    m.addSource("incidents", { type: "geojson", data: { type: "FeatureCollection", features: [] }, promoteId: "id" });
    m.addSource("areas", { type: "geojson", data: { type: "FeatureCollection", features: [] }, promoteId: "id" });
    m.addSource("alerts", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    m.addSource("units", {
      type: "geojson",
      data: { type: "FeatureCollection", features: [] },
      cluster: true,
      clusterMaxZoom: 12,
      clusterRadius: 36,
    });
    await this.loadBaseMap();
    if (this.overlays.length) m.addControl(new OverlayControl(this), "top-left");
    // Outside alerts (CAP) under the incidents' areas: a wide wash, a dotted edge.
    m.addLayer({ id: "alert-fill", type: "fill", source: "alerts", paint: { "fill-color": ["get", "colour"], "fill-opacity": 0.12 } });
    m.addLayer({ id: "alert-line", type: "line", source: "alerts", paint: { "line-color": ["get", "colour"], "line-width": 2, "line-dasharray": [1, 2] } });
    m.addLayer({
      id: "alert-label",
      type: "symbol",
      source: "alerts",
      layout: { "text-field": ["get", "label"], "text-font": FONT, "text-size": 12, "symbol-placement": "point" },
      paint: { "text-color": ["get", "colour"], "text-halo-color": "#0d1117", "text-halo-width": 1.5 },
    });
    m.addLayer({ id: "area-fill", type: "fill", source: "areas", paint: { "fill-color": ["get", "colour"], "fill-opacity": 0.15 } });
    m.addLayer({ id: "area-line", type: "line", source: "areas", paint: { "line-color": ["get", "colour"], "line-width": 2, "line-dasharray": [2, 1] } });
    m.addLayer({
      id: "unit-clusters", type: "circle", source: "units", filter: ["has", "point_count"],
      paint: {
        "circle-color": "#1f6feb", "circle-opacity": 0.85, "circle-stroke-color": "#c9d1d9", "circle-stroke-width": 1,
        "circle-radius": ["step", ["get", "point_count"], 14, 20, 18, 100, 24],
      },
    });
    m.addLayer({
      id: "unit-cluster-count", type: "symbol", source: "units", filter: ["has", "point_count"],
      layout: { "text-field": ["get", "point_count_abbreviated"], "text-font": FONT, "text-size": 12, "text-allow-overlap": true },
      paint: { "text-color": "#ffffff" },
    });
    const single = ["!", ["has", "point_count"]];
    m.addLayer({
      id: "unit-heading", type: "symbol", source: "units", filter: ["all", single, [">=", ["get", "h"], 0]],
      layout: {
        "icon-image": "heading", "icon-rotate": ["get", "h"], "icon-rotation-alignment": "map",
        "icon-allow-overlap": true, "icon-ignore-placement": true,
      },
      paint: { "icon-opacity": ["case", ["get", "stale"], 0.3, 1] },
    });
    m.addLayer({
      id: "unit-ring", type: "circle", source: "units", filter: single,
      paint: {
        "circle-radius": ["case", ["get", "sel"], 12, 9],
        "circle-color": ["get", "colour"],
        "circle-stroke-color": ["get", "ring"],
        "circle-stroke-width": ["case", ["get", "sel"], 4, 3],
        "circle-opacity": ["case", ["get", "stale"], 0.3, 1],
        "circle-stroke-opacity": ["case", ["get", "stale"], 0.3, 1],
      },
    });
    m.addLayer({
      id: "unit-kind", type: "symbol", source: "units", filter: single,
      layout: { "icon-image": ["concat", "kind-", ["get", "kind"]], "icon-allow-overlap": true, "icon-ignore-placement": true },
      paint: { "icon-opacity": ["case", ["get", "stale"], 0.4, 1] },
    });
    m.addLayer({
      id: "unit-label", type: "symbol", source: "units", filter: single, minzoom: 14,
      layout: { "text-field": ["get", "cs"], "text-font": FONT, "text-size": 11, "text-offset": [0, 1.5], "text-anchor": "top" },
      paint: { "text-color": "#e6edf3", "text-halo-color": "#0d1117", "text-halo-width": 1.5 },
    });
    m.addLayer({
      id: "incident-marker", type: "circle", source: "incidents",
      paint: {
        "circle-radius": ["case", ["get", "sel"], 14, 11],
        "circle-color": ["get", "colour"],
        "circle-stroke-color": "#ffffff", "circle-stroke-width": ["case", ["get", "sel"], 3, 1.5],
      },
    });
    m.addLayer({
      id: "incident-label", type: "symbol", source: "incidents",
      layout: { "text-field": ["get", "label"], "text-font": FONT, "text-size": 12, "text-offset": [0, 1.6], "text-anchor": "top", "text-allow-overlap": true },
      paint: { "text-color": "#ffffff", "text-halo-color": "#0d1117", "text-halo-width": 2 },
    });
    for (const layer of ["unit-ring", "unit-kind"]) {
      m.on("click", layer, (e) => this.callbacks.onSelect("unit", e.features[0].properties.id));
    }
    m.on("click", "incident-marker", (e) => this.callbacks.onSelect("incident", e.features[0].properties.id));
    m.on("click", "unit-clusters", async (e) => {
      const source = m.getSource("units");
      const zoom = await source.getClusterExpansionZoom(e.features[0].properties.cluster_id);
      m.easeTo({ center: e.features[0].geometry.coordinates, zoom });
    });
    for (const layer of ["unit-ring", "incident-marker", "unit-clusters"]) {
      m.on("mouseenter", layer, () => (m.getCanvas().style.cursor = "pointer"));
      m.on("mouseleave", layer, () => (m.getCanvas().style.cursor = ""));
    }
    this.ready = true;
    container_ready(this.map.getContainer());
    this.flush();
    requestAnimationFrame((t) => this.animate(t));
  }

  /** Base map layers in drawing order; polygons get a fill and an outline, names where they fit. */
  async loadBaseMap() {
    this.overlays = [];
    let layers = [];
    try {
      layers = (await (await fetch("/api/v1/basemap")).json()).layers;
    } catch (e) {
      console.warn("base map unavailable", e);
    }
    const bounds = [];
    for (const layer of layers) {
      let data;
      try {
        data = await (await fetch(`/api/v1/basemap/${encodeURIComponent(layer.name)}`)).json();
      } catch (e) {
        console.warn(`layer ${layer.name} unavailable`, e);
        continue;
      }
      const id = `bm-${layer.name}`;
      this.map.addSource(id, { type: "geojson", data });
      const water = layer.name.includes("water");
      const overlay = layer.role === "overlay";
      const visibility = overlay && this.overlays.length > 0 ? "none" : "visible";
      const ids = [];
      const add = (spec) => {
        this.map.addLayer({ ...spec, source: id, layout: { ...(spec.layout || {}), visibility } });
        ids.push(spec.id);
      };
      add({
        id: `${id}-fill`, type: "fill", filter: ["==", ["geometry-type"], "Polygon"],
        paint: { "fill-color": overlay ? "#4c9aff" : "#161b22", "fill-opacity": overlay ? 0.04 : 1 },
      });
      add({
        id: `${id}-line`, type: "line",
        paint: {
          "line-color": water ? "#1f4e79" : overlay ? "#4c9aff" : "#30363d",
          "line-width": water ? 6 : overlay ? 1.5 : 1,
          "line-opacity": overlay ? 0.7 : 1,
        },
      });
      add({
        // Areas are named by their label point (see the server's basemap import), never per tile.
        id: `${id}-label`, type: "symbol", filter: ["!=", ["geometry-type"], "Polygon"],
        layout: {
          "text-field": ["get", "label"], "text-font": FONT, "text-size": overlay ? 12 : 14,
          "symbol-placement": water ? "line" : "point",
        },
        paint: { "text-color": overlay ? "#79c0ff" : "#8b949e", "text-halo-color": "#0d1117", "text-halo-width": 1.5 },
      });
      if (overlay) this.overlays.push({ name: layer.name, ids, visible: visibility === "visible" });
      bounds.push(layer.bbox);
    }
    if (bounds.length && !this.viewChosen) {
      const b = bounds.reduce((a, c) => [Math.min(a[0], c[0]), Math.min(a[1], c[1]), Math.max(a[2], c[2]), Math.max(a[3], c[3])]);
      this.map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 20, duration: 0 });
    }
  }

  /** The switchable jurisdiction layers, for the layer menu. */
  overlayList() {
    return (this.overlays || []).map((o) => ({ name: o.name, visible: o.visible }));
  }

  setOverlay(name, visible) {
    const o = (this.overlays || []).find((o) => o.name === name);
    if (!o) return;
    o.visible = visible;
    for (const id of o.ids) this.map.setLayoutProperty(id, "visibility", visible ? "visible" : "none");
  }

  /**
   * Units added or changed.
   * @param {string} json  a JSON array of {id: number, lon: number, lat: number, h: number (degrees, -1: none),
   *   kind: string, colour: string (agency), ring: string (status), stale: boolean, cs: string, sel: boolean}
   */
  upsertUnits(json) {
    const now = performance.now();
    for (const u of JSON.parse(json)) {
      const known = this.units.get(u.id);
      if (known) {
        const moved = known.to[0] !== u.lon || known.to[1] !== u.lat;
        if (moved) {
          const glide = this.units.size <= GLIDE_MAX_UNITS;
          known.from = glide ? this.positionAt(known, now) : [u.lon, u.lat];
          known.to = [u.lon, u.lat];
          known.t0 = now;
          if (glide) this.gliding.add(u.id);
        }
        known.props = u;
        this.pending.set(u.id, { id: u.id, newGeometry: point(...this.positionAt(known, now)), props: u });
      } else {
        const entry = { from: [u.lon, u.lat], to: [u.lon, u.lat], t0: now, props: u, added: true };
        this.units.set(u.id, entry);
        this.pending.set(u.id, { id: u.id, add: true });
      }
    }
    if (!this.viewChosen && this.units.size > 0) this.fitToUnits();
    this.flush();
  }

  /**
   * The first view: where most of the room's units are. A joint operation may span two cities
   * an ocean apart; the view goes to the units within 50 km of the median unit.
   */
  fitToUnits() {
    this.viewChosen = true;
    const points = [...this.units.values()].map((e) => e.to);
    const median = (axis) => points.map((p) => p[axis]).sort((a, b) => a - b)[Math.floor(points.length / 2)];
    const [mx, my] = [median(0), median(1)];
    const near = points.filter((p) => Math.abs(p[0] - mx) < 0.7 && Math.abs(p[1] - my) < 0.45);
    const b = near.reduce((a, p) => [Math.min(a[0], p[0]), Math.min(a[1], p[1]), Math.max(a[2], p[0]), Math.max(a[3], p[1])],
      [Infinity, Infinity, -Infinity, -Infinity]);
    this.map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 60, maxZoom: 14, duration: 0 });
  }

  /**
   * Units the room no longer shows (a replay jumped back before they existed, or had a position).
   * @param {string} json  a JSON array of unit ids
   */
  removeUnits(json) {
    for (const id of JSON.parse(json)) {
      this.units.delete(id);
      this.gliding.delete(id);
      this.pending.set(id, { id, remove: true });
    }
    this.flush();
  }

  positionAt(entry, now) {
    const k = Math.min(1, (now - entry.t0) / GLIDE_MS);
    return [entry.from[0] + (entry.to[0] - entry.from[0]) * k, entry.from[1] + (entry.to[1] - entry.from[1]) * k];
  }

  animate(now) {
    this.frames += 1;
    for (const id of this.gliding) {
      const entry = this.units.get(id);
      if (!entry) continue;
      if (now - entry.t0 >= GLIDE_MS) this.gliding.delete(id);
      if (!this.pending.has(id)) this.pending.set(id, { id, newGeometry: point(...this.positionAt(entry, now)) });
      else if (this.pending.get(id).newGeometry) this.pending.get(id).newGeometry = point(...this.positionAt(entry, now));
    }
    if (this.followed !== null) {
      const entry = this.units.get(this.followed);
      if (entry) this.map.setCenter(this.positionAt(entry, now));
    }
    this.flush();
    this.callbacks.onFrame?.();
    requestAnimationFrame((t) => this.animate(t));
  }

  /** Sends what changed since the last update, once the previous update has been applied. */
  flush() {
    if (!this.ready || this.inFlight || this.pending.size === 0) return;
    const diff = { add: [], update: [], remove: [] };
    const now = performance.now();
    for (const [id, change] of this.pending) {
      const entry = this.units.get(id);
      if (change.remove || !entry) {
        diff.remove.push(id);
      } else if (entry.added) {
        entry.added = false;
        diff.add.push({ type: "Feature", id, geometry: point(...this.positionAt(entry, now)), properties: entry.props });
      } else {
        const update = { id, newGeometry: change.newGeometry || point(...this.positionAt(entry, now)) };
        if (change.props) update.addOrUpdateProperties = Object.entries(change.props).map(([key, value]) => ({ key, value }));
        diff.update.push(update);
      }
    }
    this.pending.clear();
    this.inFlight = true;
    Promise.resolve(this.map.getSource("units").updateData(diff))
      .catch((e) => console.error("map update failed", e))
      .finally(() => {
        this.inFlight = false;
      });
  }

  /**
   * Incidents are few: all of them each time.
   * @param {string} pointsJson  a GeoJSON FeatureCollection of points, properties {id, label, colour, sel}
   * @param {string} areasJson  a GeoJSON FeatureCollection of polygons, properties {id, colour}
   */
  setIncidents(pointsJson, areasJson) {
    if (!this.ready) {
      this.loaded.then(() => setTimeout(() => this.setIncidents(pointsJson, areasJson), 0));
      return;
    }
    this.map.getSource("incidents").setData(JSON.parse(pointsJson));
    this.map.getSource("areas").setData(JSON.parse(areasJson));
  }

  /** The outside alerts in force: a GeoJSON FeatureCollection of their areas (circles already as
   * polygons), each with `id`, `colour` and `label`. Kept on `this.alerts` for diagnostics. */
  setAlerts(json) {
    this.alerts = JSON.parse(json);
    if (!this.ready) {
      this.loaded.then(() => setTimeout(() => this.setAlerts(json), 0));
      return;
    }
    this.map.getSource("alerts").setData(this.alerts);
  }

  flyTo(lon, lat, zoom) {
    this.map.flyTo({ center: [lon, lat], zoom: Math.max(this.map.getZoom(), zoom), duration: 800 });
  }

  /** Fits the view to `[west, south, east, north]`. */
  fit(west, south, east, north) {
    this.map.fitBounds([[west, south], [east, north]], { padding: 80, maxZoom: 16, duration: 800 });
  }

  follow(id) {
    this.followed = id;
  }

  framesDrawn() {
    return this.frames;
  }

  /** Right-click, or a long press on a touch screen, places something (a new incident). */
  installPlacing(container) {
    this.map.on("contextmenu", (e) => {
      e.preventDefault();
      this.callbacks.onPlace(e.lngLat.lng, e.lngLat.lat);
    });
    let timer = null;
    const cancel = () => clearTimeout(timer);
    this.map.on("touchstart", (e) => {
      if (e.originalEvent.touches.length !== 1) return cancel();
      const at = e.lngLat;
      timer = setTimeout(() => this.callbacks.onPlace(at.lng, at.lat), 600);
    });
    for (const ev of ["touchend", "touchcancel", "touchmove", "movestart"]) this.map.on(ev, cancel);
    // A plain click on empty map (not a unit or incident) is offered too: while a placement is
    // open, it moves it there.
    this.map.on("click", (e) => {
      const hit = this.ready && this.map.queryRenderedFeatures(e.point, { layers: ["unit-ring", "incident-marker", "unit-clusters"] }).length;
      if (!hit) this.callbacks.onMapClick?.(e.lngLat.lng, e.lngLat.lat);
    });
  }
}

/** The jurisdiction layers, switchable from a small menu on the map. */
class OverlayControl {
  constructor(roomMap) {
    this.roomMap = roomMap;
  }

  onAdd() {
    const box = document.createElement("div");
    box.className = "maplibregl-ctrl maplibregl-ctrl-group overlay-control";
    box.dataset.testid = "overlays";
    for (const o of this.roomMap.overlayList()) {
      const label = document.createElement("label");
      const check = document.createElement("input");
      check.type = "checkbox";
      check.checked = o.visible;
      check.addEventListener("change", () => this.roomMap.setOverlay(o.name, check.checked));
      label.append(check, document.createTextNode(" " + o.name)); // names are text, never HTML
      box.append(label);
    }
    return box;
  }

  onRemove() {}
}

/** Marks the container once the map can take data, for tests and for CSS. */
function container_ready(el) {
  el.dataset.ready = "true";
}
