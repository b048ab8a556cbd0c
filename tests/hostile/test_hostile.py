#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The one promise against a hostile or broken camera (issue 11): the real
dockd in vdock's world, one case per way around the promise, asserting what a
user would notice: what is left on the camera, what central storage holds,
custody records, findings in reports, LEDs, journal, status.

What the fixes must provide, as these cases expect it (names chosen here):

Configuration
- `[dock] crl = PATH`: a CRL file (PEM or DER) or a directory of them. Checked
  for the device certificate at identification and for the signer of every
  manifest; reloaded when a file changes (or appears in the directory), without
  a restart. A camera whose certificate is revoked is untrusted (custody
  `untrusted`, reason naming the revocation, finding `untrusted-camera`); a
  segment whose signer is revoked is quarantined (reason naming it).
- `[spool] partial_max_age = DURATION`: a partial pull (`.mp4.part`) whose
  camera has not been docked for this long is removed from the spool, with a
  custody record `pull-abandoned` (fields `segment`, `bytes`) and a report
  with finding `abandoned-pull` (measured `segment`, `bytes`).
- The spool is shared fairly: with N bays, a camera may not hold more than its
  share (quota / N) of the spool while another bay's camera waits for room, so
  a camera with a lot cannot keep a later one from pulling.

Names
- Finding `recording-id-reused` (a name on the camera holds other content than
  what central storage confirmed under it); the new content is a new segment:
  pulled, verified, stored under a key that cannot collide with the first
  (suggested: `<prefix>/evidence/<serial>/<recording-id>/<index:06>~<first 16
  hex digits of the .man's SHA-256>.{mp4,man,p7s}`; the cases find it by content).
- Custody event `clock-not-set` (field `reason`) when the dock's clock is not
  synchronised (adjtimex: STA_UNSYNC) and a camera clock would have been set;
  `dockctl status --json` carries `"dock_clock": {"synchronised": false}`.
  The cases show dockd an unsynchronised clock with tests/lib/fake-ntp.c
  (FAKE_NTP=unsynchronised); every other Rig shows a synchronised one.
- Failpoint `delete-sent` (tests/faults/test_crash.py): passed once per
  DeleteObject when its command has gone out (the camera may have deleted the
  object) and before its response is read.
- A camera's identity is proven with SignChallenge (docs/camera-protocol.md
  §8.4) before anything else is believed; untrusted otherwise (reason naming
  the challenge or the key).
- Finding `recording-gap` (as today) when a recording's chain cannot be
  continued from what any dock took: its `measured.segment` names the first
  segment after the gap, and the recording stays on the camera.
- Every docking, trusted or not, still begins with a custody `docked` record
  (the cases count them to tell dockings apart).

Run one case: `meson test -C build --suite hostile NAME` or
`tests/hostile/test_hostile.py CASE` (DOCKD_BUILD_DIR set)."""

import glob
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from dockdtest import (PrivateJournal, Rig, TestFailure, case, check, check_offloaded,  # noqa: E402
                       in_private_mount_ns, run_cases, run_in_vdock, wait_for)
from hostile import (camera, check_no_controls, check_strings_clean, custody, deleted_only_after_confirmed,  # noqa: E402
                     dockctl_outputs, finding_codes, nothing_taken, original_key, redock,
                     report_texts, reports, scenario, second_dock, segments, settle, status_latency,
                     stored_segment, untrusted, wait_empty, wait_finding)
from webhook import Webhook  # noqa: E402

UNTRUSTED_LED = ("blink", 250, 250)
CAMERA_UNTRUSTED = "869af271b61b42faa4b814da979f5cd6"


def led_state(truth, led):
    state = ("off", 0, 0)
    for e in truth["led_history"]:
        if e["attr"] == "state" and e["led"] == led:
            mode, delays = e["value"].split(" ", 1)
            state = (mode, *(int(x) for x in delays.split("/")))
    return state


def check_red_flashing(truth, bay):
    green, red = led_state(truth, f"dock:green:bay-{bay}"), led_state(truth, f"dock:red:bay-{bay}")
    check(green[0] == "off" and red == UNTRUSTED_LED, f"bay {bay} LEDs green {green} red {red}, expected "
          "red flashing (take another camera; a supervisor must see it)")


# ---- item 1: deletion by name, not by content ----

def reuse_case(scen, serial):
    world = run_in_vdock(scenario(scen))
    rig = Rig(world)
    try:
        rig.start()
        settle(rig, 1, serial)
        first = world.truth()
        gen0 = segments(first, serial)
        redock(world, rig, serial, 1, dockings=2)
        t = world.truth()
        deleted_only_after_confirmed(rig, t, serial)
        for old in gen0:
            check(stored_segment(rig, serial, old) == original_key(serial, old),
                  f"the first recording's {old['index']:06d} is no longer at {original_key(serial, old)}")
        for seg in segments(t, serial):
            key, mp4 = stored_segment(rig, serial, seg), seg["files"]["mp4"]
            check(key, f"new content of {seg['index']:06d} is not in central storage ({seg['fate']} on the camera, "
                  f"{mp4['bytes_served']} of {mp4['size']} bytes read); bay {rig.bay(1)['state']}")
            check(key != original_key(serial, seg), f"new content of {seg['index']:06d} overwrote {key}")
            check(seg["fate"] == "deleted", f"new content of {seg['index']:06d} is {seg['fate']} after it was confirmed")
        check("recording-id-reused" in finding_codes(rig, serial),
              f"no finding recording-id-reused; reports have {finding_codes(rig, serial)}")
        ok, out = rig.verify_custody()
        check(ok, out)
        rig.stop()
    finally:
        rig.cleanup()


@case
def reused_id_after_refused_delete():
    """Segment 0 was confirmed, the camera refused its delete, then reused the
    name for new content: the new 000000 must not be deleted unread."""
    reuse_case("reuse-after-refused-delete.ini", "BWC-R0001")


@case
def reused_id_after_delete():
    """Everything was offloaded and deleted; the camera records the same
    recording id again: the new segments must be offloaded, not skipped."""
    reuse_case("reuse-after-delete.ini", "BWC-R0002")


# ---- item 2: no proof that the camera holds its key ----

@case
def impostor_with_genuine_certificate():
    """Another camera's genuine certificate and serial, the wrong key, no
    recordings, a perfect battery: refused, not turned green; the journal has
    the untrusted-camera alert."""
    in_private_mount_ns()
    world = run_in_vdock(scenario("impostor.ini"))
    journal = PrivateJournal()
    rig = Rig(world, env={"DOCKD_LOG_TARGET": "journal"})
    try:
        rig.start()
        b = settle(rig, 1, "BWC-G0001")
        check(b["state"] == "fault", f"the impostor's bay is {b['state']}: {b}")
        untrusted(rig, "BWC-G0001", ("challenge", "key"))
        check("untrusted-camera" in [f["code"] for f in b.get("findings", [])], b.get("findings"))
        wait_finding(rig, "untrusted-camera", "BWC-G0001")
        check_red_flashing(world.truth(), 1)
        alerts = wait_for(lambda: journal.entries(MESSAGE_ID=CAMERA_UNTRUSTED), 10, what="untrusted alert in the journal")
        check(alerts[0].get("DOCKD_CAMERA_SERIAL") == "BWC-G0001" and alerts[0].get("DOCKD_BAY") == "1", alerts[0])
        rig.stop()
    finally:
        journal.stop()
        rig.cleanup()


def settle_refused(world, rig, cameras):
    """Each (bay, serial) docking ends in fault: untrusted for its challenge
    answer, nothing taken, the bay flashing red."""
    for bay, serial in cameras:
        b = settle(rig, bay, serial)
        check(b["state"] == "fault", f"bay {bay} ({serial}, challenge "
              f"{camera(world.truth(), serial)['challenge']}) is {b['state']}")
    t = world.truth()
    for bay, serial in cameras:
        untrusted(rig, serial, ("challenge", "key"))
        nothing_taken(t, serial)
        check_red_flashing(t, bay)
    return t


def challenge_refused_case(scen, cameras):
    world = run_in_vdock(scenario(scen))
    rig = Rig(world)
    try:
        rig.start()
        settle_refused(world, rig, cameras)
        check(not os.path.isdir(os.path.join(rig.central, "evidence")), "evidence from an unproven camera")
        rig.stop()
    finally:
        rig.cleanup()


@case
def challenge_not_implemented():
    """A camera without SignChallenge cannot prove it holds its key."""
    challenge_refused_case("challenge-unsupported.ini", [(1, "BWC-N0001")])


@case
def challenge_answered_wrongly():
    """A garbage, unprefixed or wrong-key answer is no proof; nor is a replayed
    one. The replaying camera (vdock `challenge = replay`) signs the first nonce
    it was ever sent, so its first session's answer is right and cannot be told
    from a good camera's: it is caught at its next session, whose nonce is new."""
    world = run_in_vdock(scenario("challenge-wrong.ini"))
    rig = Rig(world)
    try:
        rig.start()
        settle_refused(world, rig, [(2, "BWC-W0002"), (3, "BWC-W0003"), (4, "BWC-W0004")])
        settle(rig, 1, "BWC-W0001")
        world.control("fault BWC-W0001 record 1M")
        b = redock(world, rig, "BWC-W0001", 1, dockings=2)
        check(b["state"] == "fault", f"bay 1 (BWC-W0001, challenge replay, second session) is {b['state']}")
        t = world.truth()
        u = custody(rig, "untrusted", "BWC-W0001")
        check(u and any(w in u[-1].get("reason", "") for w in ("challenge", "key")),
              f"the replaying camera's second session is not untrusted: {u}")
        new = segments(t, "BWC-W0001")[-1]
        check(new["files"]["mp4"]["bytes_served"] == 0 and new["fate"] == "on-camera",
              f"{new['index']:06d}, recorded after the first session, was taken from the replaying camera")
        check_red_flashing(t, 1)
        rig.stop()
    finally:
        rig.cleanup()


# ---- item 3: revocation and the dock's clock ----

@case
def revoked_certificate_at_identification():
    world = run_in_vdock(scenario("revoked.ini"))
    rig = Rig(world, config={"dock": {"crl": os.environ["VDOCK_CRL"]}})
    try:
        rig.start()
        b = settle(rig, 1, "BWC-X0001")
        check(b["state"] == "fault", b)
        untrusted(rig, "BWC-X0001", ("revoked",))
        nothing_taken(world.truth(), "BWC-X0001")
        wait_finding(rig, "untrusted-camera", "BWC-X0001")
        check_red_flashing(world.truth(), 1)
        rig.stop()
    finally:
        rig.cleanup()


@case
def revoked_manifest_signer():
    """The camera's certificate is good; segment 0 is signed under a revoked
    one: quarantined, its recording held on the camera."""
    world = run_in_vdock(scenario("revoked-signer.ini"))
    rig = Rig(world, config={"dock": {"crl": os.environ["VDOCK_CRL"]}})
    try:
        rig.start()
        settle(rig, 1, "BWC-X0002")
        q = custody(rig, "quarantined", "BWC-X0002")
        check(any(r["segment"].endswith("/000000") and "revoked" in r.get("reason", "") for r in q),
              f"segment 0 not quarantined for its revoked signer: {[(r['segment'], r.get('reason')) for r in q]}")
        for seg in segments(world.truth(), "BWC-X0002"):
            check(seg["fate"] == "on-camera", f"{seg['index']:06d} {seg['fate']}: its recording must be held")
        wait_finding(rig, "integrity", "BWC-X0002")
        rig.stop()
    finally:
        rig.cleanup()


@case
def crl_reloaded_when_it_changes():
    """[dock] crl names a directory; the camera is revoked while dockd runs
    (the CRL in the directory is rewritten): at its next docking it is refused."""
    world = run_in_vdock(scenario("crl-reload.ini"))
    crl_dir = os.path.join(world.dir, "crl.d")
    os.makedirs(crl_dir)
    world.control(f"crl {os.path.join(crl_dir, 'agency.crl.pem')}")
    rig = Rig(world, config={"dock": {"crl": crl_dir}})
    try:
        rig.start()
        b = settle(rig, 1, "BWC-X0003")
        check(b["state"] == "ready", f"first docking, not yet revoked: {b}")
        world.control("undock 1")
        wait_empty(rig, 1)
        world.control("revoke BWC-X0003")
        world.control(f"crl {os.path.join(crl_dir, 'agency.crl.pem')}")
        world.control("fault BWC-X0003 record 2x1M")
        world.control("dock BWC-X0003 1")
        b = settle(rig, 1, "BWC-X0003", dockings=2)
        check(b["state"] == "fault", f"revoked camera's bay is {b['state']}")
        u = custody(rig, "untrusted", "BWC-X0003")
        check(u and "revoked" in u[-1].get("reason", ""), f"untrusted records: {u}")
        for seg in segments(world.truth(), "BWC-X0003")[2:]:
            check(seg["files"]["mp4"]["bytes_served"] == 0 and seg["fate"] == "on-camera",
                  f"{seg['index']:06d} taken from a revoked camera: {seg['fate']}")
        check(rig.dockd.proc.poll() is None, "dockd was restarted or died")
        rig.stop()
    finally:
        rig.cleanup()


@case
def unsynchronised_clock_not_used():
    """The kernel says the dock's clock is not synchronised: no camera clock is
    set from it, and custody and status say so."""
    world = run_in_vdock(scenario("clock-drift.ini"))
    rig = Rig(world, ntp="unsynchronised")
    try:
        rig.start()
        settle(rig, 1, "BWC-T0001")
        sets = camera(world.truth(), "BWC-T0001")["clock_sets"]
        check(not sets, f"camera clock set from an unsynchronised dock clock: {sets}")
        rec = custody(rig, "clock-not-set", "BWC-T0001")
        check(rec and "synchron" in rec[0].get("reason", ""), f"no clock-not-set custody record: "
              f"{[r['event'] for r in rig.custody_records()]}")
        st = rig.status()
        check(st.get("dock_clock", {}).get("synchronised") is False, f"status dock_clock: {st.get('dock_clock')}")
        check_offloaded(rig, world.truth())
        rig.stop()
    finally:
        rig.cleanup()


# ---- item 4: chain gaps across docks ----

# A predecessor central storage does not hold is a gap only once it is still
# missing after [dock] chain_gap_after (predecessor-not-yet-in-storage): the
# gap cases wait seconds, not the default hour.
SHORT_GAP_WAIT = {"dock": {"chain_gap_after": "3s"}}

def two_docks(scen, serial, between):
    """Dock A offloads the camera; between(world) changes what the camera holds;
    dock B (own state, same central storage) gets it. Returns (rig_a, rig_b, truth)."""
    world = run_in_vdock(scenario(scen))
    a = Rig(world, name="dock-a")
    b = None
    try:
        a.start()
        check(settle(a, 1, serial)["state"] == "ready", a.bay(1))
        a.stop()
        world.control("undock 1")
        between(world)
        b = second_dock(world, a, config=SHORT_GAP_WAIT)
        b.start()
        world.control(f"dock {serial} 1")
        settle(b, 1, serial)
        return a, b, world.truth()
    except BaseException:
        if b:
            b.cleanup()
        a.cleanup()
        raise


def held_with_gap(rig, truth, serial, first_index):
    later = [s for s in segments(truth, serial) if s["index"] >= first_index and s["fate"] != "never-on-camera"]
    check(later, "no later segments on the camera")
    for seg in later:
        check(seg["fate"] == "on-camera", f"{seg['index']:06d} {seg['fate']}: its recording has a gap and must "
              "be held on the camera")
    wait_finding(rig, "recording-gap", serial)
    gap = [f for r in reports(rig) for f in r["findings"] if f["code"] == "recording-gap"]
    check(any(f["measured"]["segment"].endswith(f"/{first_index:06d}") for f in gap),
          f"recording-gap findings name {[f['measured']['segment'] for f in gap]}, expected …/{first_index:06d}")


@case
def chain_gap_across_docks():
    """Dock A took 0-4; segment 5 vanished from the camera; dock B sees 6-9."""
    def between(world):
        world.control("fault BWC-C0001 record 5x1M")
        world.control("fault BWC-C0001 lose 5")
    a, b, t = two_docks("chain-across-docks.ini", "BWC-C0001", between)
    try:
        held_with_gap(b, t, "BWC-C0001", 6)
        b.stop()
    finally:
        b.cleanup()
        a.cleanup()


@case
def forged_continuation_across_docks():
    """Dock A took 0-4; the camera's next segment chains to a manifest that
    never existed: dock B must check it against segment 4 in central storage."""
    def between(world):
        world.control("fault BWC-C0001 record 3x1M broken-chain")
    a, b, t = two_docks("chain-across-docks.ini", "BWC-C0001", between)
    try:
        q = custody(b, "quarantined", "BWC-C0001")
        check(any(r["segment"].endswith("/000005") and "chain" in r.get("reason", "") for r in q),
              f"segment 5 not quarantined for its broken chain: {[(r['segment'], r.get('reason')) for r in q]}")
        held_with_gap(b, t, "BWC-C0001", 5)
        b.stop()
    finally:
        b.cleanup()
        a.cleanup()


@case
def predecessor_not_yet_in_storage():
    """Dock A took 0-4; the camera recorded 5-7 and docks at dock B while central
    storage does not show segment 4 yet (the test keeps its objects aside: a
    store whose readers lag its writers, a dock still uploading it). That is not
    a gap: dock B pulls 5-7, keeps them on the camera and asks again; once 4 is
    there they link, are offloaded and deleted, and no finding is filed (today:
    the first answer, "not there", quarantines 5 for a gap at once)."""
    serial = "BWC-C0001"
    world = run_in_vdock(scenario("chain-across-docks.ini"))
    a = Rig(world, name="dock-a")
    b = None
    aside = a.tmp.join("aside")
    try:
        a.start()
        check(settle(a, 1, serial)["state"] == "ready", a.bay(1))
        a.stop()
        world.control("undock 1")
        world.control(f"fault {serial} record 3x1M")
        four = [p for p in glob.glob(os.path.join(a.central, "evidence", serial, "*", "000004.*"))]
        check(len(four) == 3, f"segment 4 in central storage: {four}")
        os.makedirs(aside)
        for p in four:
            os.rename(p, os.path.join(aside, os.path.basename(p)))
        b = second_dock(world, a)
        b.start()
        world.control(f"dock {serial} 1")
        wait_for(lambda: any(r["segment"].endswith("/000007") for r in custody(b, "pulled", serial)), 90,
                 what="dock B pulling 000007")
        check(not custody(b, "quarantined", serial),
              f"quarantined while its predecessor was not in storage yet: "
              f"{[(r['segment'], r.get('reason')) for r in custody(b, 'quarantined', serial)]}")
        for seg in segments(world.truth(), serial):
            if seg["index"] >= 5:
                check(seg["fate"] == "on-camera", f"{seg['index']:06d} {seg['fate']} before its chain was checked")
        check(b.bay(1)["state"] != "ready", f"bay ready before the chain was checked: {b.bay(1)}")
        for p in four:
            os.rename(os.path.join(aside, os.path.basename(p)), p)
        check(settle(b, 1, serial, timeout=120)["state"] == "ready", b.bay(1))
        check(not custody(b, "quarantined", serial), f"quarantined: {custody(b, 'quarantined', serial)}")
        check(any(r["segment"].endswith("/000005") for r in custody(b, "verified", serial)), "000005 never verified")
        for seg in segments(world.truth(), serial):
            check(seg["fate"] == "deleted", f"{seg['index']:06d} {seg['fate']}")
        check("recording-gap" not in finding_codes(b, serial), f"findings: {finding_codes(b, serial)}")
        b.stop()
    finally:
        if b:
            b.cleanup()
        a.cleanup()


@case
def first_segment_on_camera_not_zero():
    """The camera's recording starts at index 3 and no dock ever saw 0-2."""
    world = run_in_vdock(scenario("first-segment-three.ini"))
    rig = Rig(world, config=SHORT_GAP_WAIT)
    try:
        rig.start()
        settle(rig, 1, "BWC-C0002")
        held_with_gap(rig, world.truth(), "BWC-C0002", 3)
        rig.stop()
    finally:
        rig.cleanup()


# ---- item 5: one camera cannot fill the spool or stall the loop ----

@case
def oversized_video_not_read_beyond_manifest():
    """The video object is 256 MiB longer than its manifest: quarantined
    without reading more than the manifest's size."""
    world = run_in_vdock(scenario("oversized-video.ini"))
    rig = Rig(world)
    try:
        rig.start()
        settle(rig, 1, "BWC-O0001", timeout=120)
        t = world.truth()
        seg0 = segments(t, "BWC-O0001")[0]["files"]["mp4"]
        check(seg0["bytes_served"] <= seg0["size"],
              f"{seg0['bytes_served']} bytes read of a video whose manifest says {seg0['size']} "
              f"(the camera claimed {seg0['object_size']})")
        q = custody(rig, "quarantined", "BWC-O0001")
        check(any(r["segment"].endswith("/000000") for r in q), f"segment 0 not quarantined: {q}")
        for seg in segments(t, "BWC-O0001"):
            check(seg["fate"] == "on-camera", f"{seg['index']:06d} {seg['fate']}: recording must be held")
        rig.stop()
    finally:
        rig.cleanup()


@case
def spool_shared_fairly():
    """Central storage is down; bay 1's camera holds 96 MiB, the spool 48 MiB;
    bay 2's camera docks later with 8 MiB: it gets its share and is pulled."""
    world = run_in_vdock(scenario("spool-share.ini"))
    rig = Rig(world, config={"spool": {"quota": "48M", "min_free": "16M", "sync_interval": "1M"},
                             "usb": {"chunk_size": "1M"}})
    incoming = os.path.join(rig.central, ".incoming", "test-dock")
    try:
        rig.start()
        # Central storage goes away: its staging directory becomes a file.
        shutil.rmtree(incoming)
        open(incoming, "w").close()
        wait_for(lambda: len(custody(rig, "docked", "BWC-S0002")) >= 1, 30, what="bay 2's camera docked")
        try:
            wait_for(lambda: len(custody(rig, "pulled", "BWC-S0002")) >= 2, 60,
                     what="bay 2's camera pulled while bay 1's holds the spool")
        except TestFailure:
            st = rig.status()
            raise TestFailure(f"bay 2's camera got no share of the spool: spool {st.get('spool')}, "
                              f"bay 1 {rig.bay(1).get('progress')}, bay 2 {rig.bay(2)}")
        # Storage back: everything goes through, nothing lost.
        os.unlink(incoming)
        os.makedirs(incoming)
        rig.wait_bay(1, "ready", 180)
        rig.wait_bay(2, "ready", 60)
        check_offloaded(rig, world.truth())
        rig.stop()
    finally:
        rig.cleanup()


@case
def abandoned_partial_pull_cleaned():
    """A camera leaves mid-segment and never returns: its .part is removed
    after [spool] partial_max_age, with a custody record and a finding."""
    world = run_in_vdock(scenario("abandoned-part.ini"))
    rig = Rig(world, config={"spool": {"partial_max_age": "5s", "sync_interval": "1M"},
                             "usb": {"chunk_size": "4M"}, "dock": {"removal_debounce": "1s"}})
    spool = os.path.join(rig.state, "spool")

    def parts():
        return [os.path.join(top, f) for top, _, fs in os.walk(spool) for f in fs if f.endswith(".part")]
    try:
        rig.start()
        wait_empty(rig, 1, 60)
        check(parts(), "no partial pull left in the spool to begin with")
        try:
            wait_for(lambda: not parts(), 30, what="the abandoned .part removed")
        except TestFailure:
            raise TestFailure(f"{parts()} still in the spool {30}s after partial_max_age=5s")
        rec = custody(rig, "pull-abandoned", "BWC-A0001")
        check(rec and rec[0].get("segment", "").endswith("/000000"), f"custody: {rec}")
        wait_finding(rig, "abandoned-pull", "BWC-A0001")
        spool_bytes = (rig.status().get("spool") or {}).get("bytes")
        check(spool_bytes is not None and spool_bytes < 64 * 1024, f"spool still holds {spool_bytes} bytes")
        rig.stop()
    finally:
        rig.cleanup()


def responsive_inventory(scen, serial, n_segments, dock_now):
    """Until "Camera holds N segment(s)": dockctl status answers throughout
    and the watchdog (30 s, as the unit sets it) is always pinged in time.
    Capped at 240 s: ten times the inventory_250k_s goal. The status latency is
    printed, not asserted (a loaded machine makes any bound flaky): scripts/bench
    inventory measures it (inventory_250k_worst_status_s)."""
    world = run_in_vdock(scenario(scen))
    # Default transaction timeouts: this is about the loop, not about slow answers.
    rig = Rig(world, config={"usb": {"command_timeout": "10s", "stall_timeout": "5s"}})
    cap, watchdog = 240, 30
    try:
        rig.start(extra_env={"WATCHDOG_USEC": str(watchdog * 1000000)})
        idle = max(status_latency(rig)[0] for _ in range(5))
        if dock_now:
            world.control(f"dock {serial} 1")
        t0 = time.monotonic()
        worst, needle = 0.0, f"Camera holds {n_segments} segment(s)"
        while needle not in rig.dockd.log():
            if rig.dockd.proc.poll() is not None:
                raise TestFailure(f"dockd exited {rig.dockd.proc.returncode}: {rig.dockd.log()[-2000:]}")
            if time.monotonic() - t0 > cap:
                b = rig.bay(1) or {}
                raise TestFailure(f"no {needle!r} after {cap} s (goal: under 25 s, scripts/bench inventory); "
                                  f"bay {b.get('state')}, fault {b.get('fault')!r}; worst status latency "
                                  f"{worst:.2f} s; log tail:\n{rig.dockd.log()[-1500:]}")
            dt, rc = status_latency(rig)
            check(rc == 0, f"dockctl status failed during the inventory after {dt:.1f} s")
            worst = max(worst, dt)
            time.sleep(0.5)
        pings = [t for t, m in rig.dockd.notify.messages if m == "WATCHDOG=1"]
        marks = [t0] + pings + [time.monotonic()]
        gap = max(b - a for a, b in zip(marks, marks[1:]))
        print(f"inventory: {time.monotonic() - t0:.1f} s, worst status latency {worst:.2f} s "
              f"(idle {idle:.2f} s), longest watchdog gap {gap:.1f} s")
        check(gap < watchdog, f"no watchdog ping for {gap:.1f} s: systemd would have killed dockd")
        rig.stop()
    finally:
        rig.cleanup()


@case
def inventory_of_250k_objects_keeps_loop_responsive():
    responsive_inventory("inventory-250k.ini", "BWC-B0001", 83333, dock_now=True)


@case
def inventory_uses_object_prop_list():
    """A camera with GetObjectPropList is listed with it, not object by object;
    one without it is listed with GetObjectInfo; both are offloaded."""
    world = run_in_vdock(scenario("prop-list.ini"))
    # Default transaction timeouts: the 2 s of other suites can fire when the
    # dock's loop waits on an fsync of a busy disk, not because the camera is slow.
    rig = Rig(world, config={"usb": {"command_timeout": "10s", "stall_timeout": "5s"}})
    try:
        rig.start()
        rig.wait_bay(1, "ready", 120)
        rig.wait_bay(2, "ready", 120)
        t = world.truth()
        check_offloaded(rig, t)
        with_list, without = camera(t, "BWC-L0001")["operations"], camera(t, "BWC-L0002")["operations"]
        check(with_list.get("0x9805", 0) >= 1, f"GetObjectPropList never used: {with_list}")
        check(with_list.get("0x1008", 0) <= 10, f"{with_list.get('0x1008')} GetObjectInfo for a camera "
              "that has GetObjectPropList")
        check(without.get("0x1008", 0) >= 121, f"camera without GetObjectPropList: {without}")
        rig.stop()
    finally:
        rig.cleanup()


@case
def malformed_object_prop_list():
    """Two cameras answer GetObjectPropList with malformed data (a count larger
    than the elements sent; the data ending inside a string): the listing is an
    optimisation, so dockd lists them object by object instead, and all three
    cameras are offloaded, nothing lost, nothing deleted before it was confirmed
    (today: the inventory fails, again after every recovery, and the bays fault
    with the recordings on the cameras)."""
    world = run_in_vdock(scenario("malformed-prop-list.ini"))
    rig = Rig(world, config={"usb": {"command_timeout": "10s", "stall_timeout": "5s"}})
    try:
        rig.start()
        for bay in (1, 2, 3):
            check(rig.wait_bay(bay, ["ready", "fault"], 120)["state"] == "ready", f"bay {bay}: {rig.bay(bay)}")
        t = world.truth()
        check_offloaded(rig, t)
        for serial in ("BWC-M0001", "BWC-M0002", "BWC-M0003"):
            deleted_only_after_confirmed(rig, t, serial)
        for serial in ("BWC-M0001", "BWC-M0002"):
            ops = camera(t, serial)["operations"]
            check(ops.get("0x9805", 0) >= 1, f"{serial}: GetObjectPropList never asked: {ops}")
            check(ops.get("0x1008", 0) >= 18, f"{serial}: not listed object by object after the malformed "
                  f"listing: {ops}")
        good = camera(t, "BWC-M0003")["operations"]
        check(good.get("0x1008", 0) <= 10, f"the well-behaved camera was listed object by object: {good}")
        rig.stop()
    finally:
        rig.cleanup()


# ---- item 6: one oversized .man or .p7s ----

def oversized_sidecar_case(scen, serial):
    world = run_in_vdock(scenario(scen))
    rig = Rig(world)
    try:
        rig.start()
        b = settle(rig, 1, serial, timeout=120)
        t = world.truth()
        codes = [f["code"] for f in b.get("findings", [])]
        check("camera-not-responding" not in codes, f"findings {codes}: one oversized file faulted the camera")
        check("power-cycling" not in rig.dockd.log(), "the port was power-cycled over one oversized file")
        first, second = camera(t, serial)["recordings"]
        q = custody(rig, "quarantined", serial)
        check([r["segment"] for r in q] == [f"{first['id']}/000001"], f"quarantined: {[r['segment'] for r in q]}")
        for seg in first["segments"]:
            check(seg["fate"] == "on-camera", f"{first['id']}/{seg['index']:06d} {seg['fate']}: held")
        check_offloaded(rig, {"cameras": [{"serial": serial, "recordings": [second]}]})
        rig.stop()
    finally:
        rig.cleanup()


@case
def oversized_manifest_quarantines_one_segment():
    oversized_sidecar_case("oversized-manifest.ini", "BWC-M0001")


@case
def oversized_signature_quarantines_one_segment():
    oversized_sidecar_case("oversized-signature.ini", "BWC-M0002")


# ---- item 7: camera strings ----

@case
def self_test_detail_cannot_rewrite_report_state():
    """A detail "x\\ndelivered=1\\nz": the report must still reach the webhook
    after a restart."""
    world = run_in_vdock(scenario("selftest-detail-injection.ini"))
    hook = Webhook()
    rig = Rig(world, config={"report": {"webhook": hook.url}})
    try:
        rig.start()
        settle(rig, 1, "BWC-J0001")
        wait_finding(rig, "self-test", "BWC-J0001")
        check(rig.dockd.stop() == 0, "dockd exit status")
        rig.start()
        hook.start()
        try:
            wait_for(lambda: hook.received, 30, what="the report delivered to the webhook")
        except TestFailure:
            outbox = os.path.join(rig.state, "reports")
            status = [open(os.path.join(outbox, f)).read() for f in os.listdir(outbox) if f.endswith(".status")]
            raise TestFailure(f"report never delivered after a restart; outbox status files: {status}")
        for r in reports(rig):
            check_strings_clean(r["findings"], "report findings")
        rig.stop()
    finally:
        hook.stop()
        rig.cleanup()


@case
def terminal_escapes_never_reach_text_output():
    """ESC sequences, a C1 CSI, BEL and newlines in DeviceInfo strings and a
    self-test detail: none reaches dockctl's text, the text report or the
    console log."""
    world = run_in_vdock(scenario("terminal-escapes.ini"))
    rig = Rig(world)
    try:
        rig.start()
        settle(rig, 1, "BWC-J0002")
        wait_finding(rig, "self-test", "BWC-J0002")
        for where, text in dockctl_outputs(rig).items():
            check_no_controls(text, where)
        for path, data in report_texts(rig):
            check_no_controls(data, path)
        check_no_controls(rig.dockd.log(), "dockd's console log")
        rig.stop()
    finally:
        rig.cleanup()


@case
def camera_strings_validated_at_the_boundary():
    """A 200-character model and control characters in firmware and
    manufacturer: what dockd keeps is printable and bounded (64, as §12.2
    bounds a manifest's model and firmware) in status, custody and reports."""
    world = run_in_vdock(scenario("overlong-strings.ini"))
    rig = Rig(world)
    try:
        rig.start()
        b = settle(rig, 1, "BWC-J0003")
        check_strings_clean({k: b.get(k) for k in ("model", "firmware")}, "dockctl status bay", 64)
        for r in custody(rig, "identified", "BWC-J0003"):
            check_strings_clean({k: r.get(k) for k in ("model", "firmware")}, "custody identified", 64)
        for r in reports(rig):
            check_strings_clean(r["camera"], "report camera", 64)
        rig.stop()
    finally:
        rig.cleanup()


# ---- item 9: limits that disagree ----

@case
def more_than_262143_objects_listed():
    """GetObjectHandles of 262,147 objects is more than 1 MiB: the camera must
    still be listed (and the loop stay responsive)."""
    responsive_inventory("inventory-262k.ini", "BWC-B0002", 87382, dock_now=False)


@case
def unsigned_officer_never_reaches_reports():
    """The served manifests say officer 4712, the signed ones 4711: nothing
    unverified reaches the report or the status."""
    world = run_in_vdock(scenario("unsigned-officer.ini"))
    rig = Rig(world)
    try:
        rig.start()
        b = settle(rig, 1, "BWC-Y0001")
        wait_finding(rig, "integrity", "BWC-Y0001")
        check(b.get("officer_id") != "4712", f"status names officer {b.get('officer_id')} from an unverified manifest")
        for r in reports(rig):
            check(r["camera"]["officer_id"] != "4712",
                  f"report {r['id']} names officer {r['camera']['officer_id']} from an unverified manifest")
        rig.stop()
    finally:
        rig.cleanup()


if __name__ == "__main__":
    run_cases()
