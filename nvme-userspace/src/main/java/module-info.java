module dev.ferrum.nvme {}
