/** A program that uses Ferrum's NVMe driver as a library, from the installed artifacts. */
module dev.ferrum.example.consumer {
    requires dev.ferrum.nvme;
}
