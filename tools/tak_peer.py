#!/usr/bin/env python3
"""A TAK client built on pytak (PyPI), for Vigie's interoperability tests.

It connects to a CoT endpoint (`tcp://host:port`) through pytak's own client (CLITool, its TX
and RX workers), reports a moving device's position with pytak's event builders (at 7 decimals:
pytak's `cot_point()` truncates to 4 unless given a precision), sends one GeoChat message to All
Chat Rooms, and prints what it received as one JSON object on standard output:

    {"sent": N, "received": [{"uid": ..., "type": ..., "callsign": ..., "remarks": ...}, ...]}

Usage: tak_peer.py URL --uid UID --callsign CS --lat LAT --lon LON [--moves N] [--seconds S]
"""

import argparse
import asyncio
import json
import sys
import warnings
import xml.etree.ElementTree as ET
from configparser import ConfigParser

warnings.filterwarnings("ignore")
import pytak  # noqa: E402


def position(args, step):
    lon = args.lon + step * 0.0005
    point = pytak.cot_point(lat=args.lat, lon=lon, ce=5, hae=35, le=9999999, precision=7)
    detail = ET.Element("detail")
    ET.SubElement(detail, "contact", {"callsign": args.callsign, "endpoint": "*:-1:stcp"})
    ET.SubElement(detail, "__group", {"name": "Cyan", "role": "Team Member"})
    ET.SubElement(detail, "track", {"course": "90", "speed": "4"})
    # The detail already names the callsign: given again, pytak would add a second <contact>.
    event = pytak.cot_event(uid=args.uid, cot_type="a-f-G-U-C", stale=120, point=point, detail=detail)
    return ET.tostring(event)


def chat(args):
    detail = ET.Element("detail")
    ET.SubElement(
        detail,
        "__chat",
        {
            "chatroom": "All Chat Rooms",
            "id": "All Chat Rooms",
            "senderCallsign": args.callsign,
            "messageId": f"{args.uid}-chat-1",
        },
    )
    ET.SubElement(detail, "link", {"uid": args.uid, "type": "a-f-G-U-C", "relation": "p-p"})
    remarks = ET.SubElement(detail, "remarks", {"source": args.uid, "to": "All Chat Rooms"})
    remarks.text = f"pytak {args.callsign} en position"
    point = pytak.cot_point(lat=args.lat, lon=args.lon, precision=7)
    event = pytak.cot_event(
        uid=f"GeoChat.{args.uid}.All Chat Rooms.1", cot_type="b-t-f", how="h-g-i-g-o", stale=3600, point=point,
        detail=detail,
    )
    return ET.tostring(event)


class Sender(pytak.QueueWorker):
    def __init__(self, queue, config, args, sent):
        super().__init__(queue, config)
        self.args, self.sent = args, sent

    async def run(self, _=-1):
        for step in range(self.args.moves):
            await self.put_queue(position(self.args, step))
            self.sent.append("position")
            await asyncio.sleep(0.3)
        await self.put_queue(chat(self.args))
        self.sent.append("chat")
        while True:
            await asyncio.sleep(3600)


class Receiver(pytak.QueueWorker):
    def __init__(self, queue, config, received):
        super().__init__(queue, config)
        self.received = received

    async def handle_data(self, data):
        text = data.decode("utf-8", "replace").strip()
        try:
            event = ET.fromstring(text)
        except ET.ParseError:
            start = text.find("<event")
            event = ET.fromstring(text[start:])
        contact = event.find("detail/contact")
        remarks = event.find("detail/remarks")
        point = event.find("point")
        self.received.append(
            {
                "uid": event.get("uid"),
                "type": event.get("type"),
                "callsign": contact.get("callsign") if contact is not None else None,
                "remarks": remarks.text if remarks is not None else None,
                "lat": float(point.get("lat")) if point is not None else None,
                "lon": float(point.get("lon")) if point is not None else None,
            }
        )

    async def run(self, _=-1):
        while True:
            await self.handle_data(await self.queue.get())


async def main(args):
    parser = ConfigParser()
    parser["peer"] = {"COT_URL": args.url, "PYTAK_NO_HELLO": "true"}
    config = parser["peer"]
    tool = pytak.CLITool(config)
    await tool.setup()
    sent, received = [], []
    tool.add_tasks({Sender(tool.tx_queue, config, args, sent), Receiver(tool.rx_queue, config, received)})
    try:
        await asyncio.wait_for(tool.run(), timeout=args.seconds)
    except asyncio.TimeoutError:
        pass
    json.dump({"sent": len(sent), "received": received}, sys.stdout)
    print()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--uid", required=True)
    p.add_argument("--callsign", required=True)
    p.add_argument("--lat", type=float, required=True)
    p.add_argument("--lon", type=float, required=True)
    p.add_argument("--moves", type=int, default=5)
    p.add_argument("--seconds", type=float, default=5.0)
    asyncio.run(main(p.parse_args()))
