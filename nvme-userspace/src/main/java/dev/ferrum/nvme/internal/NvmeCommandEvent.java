package dev.ferrum.nvme.internal;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * A JFR event per NVMe I/O command, from submission to completion, so latency can be seen in JDK Mission Control.
 * Opt-in: events are created only when the JVM runs with {@code -Dferrum.nvme.jfr=true} (and a recording is on);
 * otherwise the submission path pays one constant-folded branch.
 */
@Name("dev.ferrum.nvme.Command")
@Label("NVMe Command")
@Category({"Ferrum", "NVMe"})
@Description("An NVMe I/O command from submission to completion")
@StackTrace(false)
public final class NvmeCommandEvent extends Event {
    /** Whether command events are created at all. */
    public static final boolean ENABLED = Boolean.getBoolean("ferrum.nvme.jfr");

    @Label("Controller")
    String controller;
    @Label("Queue ID")
    int queue;
    @Label("Command ID")
    int cid;
    @Label("Operation")
    String operation;
    @Label("Namespace")
    int nsid;
    @Label("LBA")
    long lba;
    @Label("Blocks")
    int blocks;
    @Label("Status")
    String status;

    /** Starts an event for a command being submitted; {@return the event, or null if JFR does not want it} */
    public static Object begin(String controller, int queue, int cid, String operation, int nsid, long lba,
                               int blocks) {
        NvmeCommandEvent e = new NvmeCommandEvent();
        if (!e.isEnabled()) {
            return null;
        }
        e.controller = controller;
        e.queue = queue;
        e.cid = cid;
        e.operation = operation;
        e.nsid = nsid;
        e.lba = lba;
        e.blocks = blocks;
        e.begin();
        return e;
    }

    /** Ends and commits an event begun by {@link #begin}. */
    public static void end(Object event, int status) {
        NvmeCommandEvent e = (NvmeCommandEvent) event;
        e.end();
        if (e.shouldCommit()) {
            e.status = status == 0 ? "success" : Integer.toString(status);
            e.commit();
        }
    }
}
