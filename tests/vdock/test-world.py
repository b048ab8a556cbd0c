#!/usr/bin/env python3
"""End-to-end world test: run under vdock, write LEDs and charge_behaviour
like dockd would, cut port power, fire an unplug fault, check the truth."""
import json, os, signal, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from vdockcontrol import request as control  # noqa: E402


def wait_for(pred, what, t=10):
    end = time.time() + t
    while time.time() < end:
        if pred():
            return
        time.sleep(0.05)
    sys.exit("timeout waiting for " + what)

def read(p):
    return open(p).read()

def devnum():
    try:
        return read("/sys/bus/usb/devices/1-1.1/devnum")
    except OSError:
        return None

def inner(reader):
    assert os.path.exists("/sys/bus/usb/devices/1-1.1"), "the camera of bay 1 is not there at start"
    assert read("/sys/bus/usb/devices/1-1.1/idVendor") == "1209\n"
    led = "/sys/class/leds/dock:green:bay-1/"
    with open(led + "trigger", "w") as f: f.write("timer")
    wait_for(lambda: "[timer]" in read(led + "trigger"), "trigger read back")
    with open(led + "brightness", "w") as f: f.write("0")
    wait_for(lambda: "[none]" in read(led + "trigger"), "brightness 0 drops the trigger")
    # Lit, then dark and blinking (as dockd's led_set() writes them) while
    # vdock gets no CPU: vdock sees the events in order but the files as they
    # are now; applying "brightness 0" (which drops the trigger) must not write
    # over the host's later "timer". A control command is a sync point: every
    # write made before it has been applied when it answers.
    for attr, v in (("trigger", "none"), ("brightness", "1")):
        with open(led + attr, "w") as f: f.write(v + "\n")
    control("status")
    assert read(led + "brightness") == "1\n", read(led + "brightness")
    os.kill(os.getppid(), signal.SIGSTOP)
    try:
        for attr, v in (("brightness", "0"), ("trigger", "timer"), ("delay_on", "250"), ("delay_off", "250")):
            with open(led + attr, "w") as f: f.write(v + "\n")
    finally:
        os.kill(os.getppid(), signal.SIGCONT)
    control("status")
    assert "[timer]" in read(led + "trigger"), "blinking written over: " + read(led + "trigger")
    assert read(led + "delay_on") == "250\n", read(led + "delay_on")
    ps = "/sys/class/power_supply/dock-bay1/"
    wait_for(lambda: read(ps + "status") == "Charging\n", "charging")
    with open(ps + "charge_behaviour", "w") as f: f.write("inhibit-charge\n")
    wait_for(lambda: read(ps + "status") == "Not charging\n", "inhibited")
    assert "[inhibit-charge]" in read(ps + "charge_behaviour")
    port = "/sys/bus/usb/devices/1-1:1.0/1-1-port1/disable"
    with open(port, "w") as f: f.write("1")
    wait_for(lambda: not os.path.exists("/sys/bus/usb/devices/1-1.1"), "port off")
    assert control("port-power 1 1") == "ok"
    wait_for(lambda: os.path.exists("/sys/bus/usb/devices/1-1.1"), "port on")
    assert read("/sys/bus/usb/devices/1-1.1/devnum") == "4\n"
    # A power cycle written while vdock gets no CPU: the kernel acts on every
    # write to disable in the write itself, so the camera leaves and comes
    # back; vdock must not sample the attribute and see only the last value.
    os.kill(os.getppid(), signal.SIGSTOP)
    try:
        for v in ("1\n", "0\n"):
            with open(port, "w") as f: f.write(v)
    finally:
        os.kill(os.getppid(), signal.SIGCONT)
    wait_for(lambda: devnum() == "5\n", "the camera re-enumerated after a quick off and on")
    # unplug fault at byte 100000 of segment 0, redock after 0.5 s
    p = subprocess.run([reader, "2", "262144"], capture_output=True, text=True)
    assert p.returncode != 0, "reader should have lost the camera"
    wait_for(lambda: devnum() == "6\n", "redock with a new devnum")
    st = json.loads(control("status")[3:])
    assert st["bays"][0]["camera"] == "BWC-W0001", st
    assert st["cameras"][0]["bytes_served"] >= 100000, st
    assert control("fault BWC-W0001 corrupt 1 5").startswith("ok")
    assert control("bogus").startswith("error")
    # revocation: the CRL file named by $VDOCK_CRL is rewritten; crl PATH copies it
    crl = os.environ["VDOCK_CRL"]
    listed = lambda path: subprocess.run(["openssl", "crl", "-in", path, "-noout", "-text"],
                                         capture_output=True, text=True, check=True).stdout
    assert "No Revoked Certificates" in listed(crl)
    assert control("revoke BWC-W0001") == "ok"
    assert "Serial Number:" in listed(crl)
    copy = os.path.join(os.path.dirname(crl), "copy.crl.pem")
    serials = lambda path: [l for l in listed(path).splitlines() if "Serial Number" in l]
    assert control(f"crl {copy}") == "ok" and serials(copy) == serials(crl) != []
    assert control("revoke BWC-NOPE").startswith("error")
    # reuse at undock: the ground truth keeps both generations
    assert control("fault BWC-W0001 reuse_recording_id undock") == "ok"
    assert control("undock 1") == "ok"

def main():
    if sys.argv[1] == "--inner":
        inner(sys.argv[2])
        return
    vdock, reader = sys.argv[1:3]
    with tempfile.TemporaryDirectory() as tmp:
        scen = os.path.join(tmp, "s.ini")
        open(scen, "w").write("[dock]\nbays=2\ntime_scale=100\n[camera BWC-W0001]\nbay=1\nsegments=2x256K\n"
                              "battery_soc=10\nunplug=0 100000 redock 0.5\n"
                              "[camera BWC-W0002]\nsegments=20000x1K\n")
        truth = os.path.join(tmp, "t.json")
        p = subprocess.run([vdock, "--scenario", scen, "--ground-truth", truth, "--world-dir",
                            os.path.join(tmp, "w"), "--", sys.executable, __file__, "--inner", reader], timeout=120)
        assert p.returncode == 0, p.returncode
        t = json.load(open(truth))
        leds = [e for e in t["led_history"] if e["led"] == "dock:green:bay-1" and e["attr"] == "trigger"]
        assert leds and leds[0]["value"] == "timer", t["led_history"]
        ch = [e for e in t["charger_history"] if e["attr"] == "charge_behaviour written"]
        assert ch and ch[0]["value"] == "inhibit-charge", t["charger_history"]
        assert [e["value"] for e in t["port_history"]] == ["off", "on", "off", "on"], t["port_history"]
        # a big camera's truth is a summary: counts, and only segments something happened to
        big = t["cameras"][1]
        assert big["truth"] == "summary" and big["recordings"][0]["segments"] == [], big["recordings"][0]
        assert big["recordings"][0]["segments_by_fate"] == {"on-camera": 20000}, big["recordings"][0]
        cam = t["cameras"][0]
        assert cam["faults"][0]["fired"], cam["faults"]
        gen0 = cam["recordings"][0]["previous_generations"][0]["segments"]
        assert gen0[0]["files"]["mp4"]["bytes_served"] == 100000
        assert gen0[1]["faults"]["corrupt_offset"] == 5
        assert any(e["attr"] == "unplug-fault" for e in t["dock_history"])
        assert cam["certificate_revoked"] is True, cam
        rec = cam["recordings"][0]
        assert rec["generation"] == 1 and rec["previous_generations"][0]["generation"] == 0, rec
        old = rec["previous_generations"][0]["segments"][0]
        assert old["fate"] == "replaced", old
        assert rec["segments"][0]["fate"] == "on-camera" and rec["segments"][0]["generation"] == 1
        assert rec["segments"][0]["files"]["mp4"]["sha256"] != old["files"]["mp4"]["sha256"]
        assert cam["operations"].get("0x95C1", 0) >= 1, cam["operations"]
        print("world ok")

main()
