module dev.ferrum.bench {}
