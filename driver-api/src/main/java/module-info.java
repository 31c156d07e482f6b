module dev.ferrum.driver {}
