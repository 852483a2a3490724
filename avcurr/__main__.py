from avcurr.cli import main

main()
